"""The offline simulator: a real pydantic-ai model, deterministic, answering each role's format."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.exceptions import ModelUnavailableError
from pydantic_ai.messages import (
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.tools import ToolDefinition

from agentdeck.llm.errors import is_transient
from agentdeck.llm.simulated_roles import NOTE, attempt_of
from agentdeck.llm.simulator import SimulatorConfig, SimulatorModel

PARAMS = ModelRequestParameters()
TASK = json.dumps({"topic": "durable job queues", "audience": "backend engineers"})


async def ask(model: SimulatorModel, prompt: str, instructions: str | None = None) -> str:
    request = ModelRequest(parts=[UserPromptPart(prompt)], instructions=instructions)
    response = await model.request([request], None, PARAMS)
    assert isinstance(response.parts[0], TextPart)
    return response.parts[0].content


async def test_simulator_is_deterministic_for_a_given_input() -> None:
    for role in ("producer", "evaluator", "reviser", "planner", "coder", "reviewer"):
        first = await ask(SimulatorModel(role), f"Task: {TASK}")
        again = await ask(SimulatorModel(role), f"Task: {TASK}")
        other = await ask(SimulatorModel(role), "Task: something else entirely, attempt 2")
        assert first == again
        assert first != other


async def test_simulator_is_a_pydantic_ai_model_reporting_usage() -> None:
    model = SimulatorModel("producer")
    request = ModelRequest(parts=[UserPromptPart(TASK)], instructions="be brief")
    response = await model.request([request], None, PARAMS)
    assert isinstance(response, ModelResponse)
    assert (model.model_name, model.system, response.provider_name) == ("simulator",) * 3
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0


async def test_every_answer_says_it_comes_from_the_simulator() -> None:
    for role in ("producer", "reviser", "builder", "executor"):
        assert NOTE in await ask(SimulatorModel(role), TASK)
    for role in ("evaluator", "planner", "coder", "reviewer", "communicator"):
        assert json.loads(await ask(SimulatorModel(role), TASK))["simulated"] is True


async def test_evaluator_scores_rise_with_revisions_so_a_loop_passes_on_attempt_two() -> None:
    producer, evaluator, reviser = (SimulatorModel(r) for r in ("producer", "evaluator", "reviser"))
    draft = await ask(producer, TASK)
    assert attempt_of(draft) == 1
    scores = []
    for attempt in range(1, 6):
        verdict = json.loads(await ask(evaluator, f"Task: {TASK}\n\nDraft:\n{draft}"))
        assert set(verdict) == {"score", "feedback", "criteria", "simulated"}
        assert 0 <= verdict["score"] <= 1
        assert all(0 <= v <= 1 for v in verdict["criteria"].values())
        assert isinstance(verdict["feedback"], str)
        assert verdict["feedback"]
        scores.append(verdict["score"])
        draft = await ask(reviser, f"Draft:\n{draft}\n\nFeedback: {verdict['feedback']}")
        assert attempt_of(draft) == attempt + 1
        assert draft.startswith("<!-- agentdeck:simulator attempt=")
    assert scores == sorted(scores)
    assert len(set(scores)) == len(scores)
    assert scores[0] < 0.8 <= scores[1]  # threshold 0.8: passes on attempt 2
    assert scores[1] < 0.9 <= scores[2]  # threshold 0.9: passes on attempt 3
    assert max(scores) < 0.99  # threshold 0.99: never passes


async def test_evaluator_reads_the_attempt_from_the_prompt_of_a_real_model_draft() -> None:
    verdict = json.loads(await ask(SimulatorModel("evaluator"), "Attempt 3 of the essay: ..."))
    assert verdict["score"] >= 0.93


async def test_planner_answers_a_json_plan_whose_tasks_form_a_valid_graph() -> None:
    goal = "Launch the docs site\n- write the guides\n- build the search\n- review and publish"
    plan = json.loads(await ask(SimulatorModel("planner"), goal))
    tasks = plan["tasks"]
    assert len(tasks) == 3
    seen: set[str] = set()
    for task in tasks:
        assert {
            "id",
            "title",
            "description",
            "role",
            "prerequisites",
            "subtasks",
            "confidence",
        } <= set(task)
        assert all(p in seen for p in task["prerequisites"])  # earlier tasks only: no cycle
        assert task["subtasks"]
        assert all({"id", "title"} <= set(s) for s in task["subtasks"])
        assert 0 <= task["confidence"] <= 1
        seen.add(task["id"])
    assert {t for p in plan["phases"] for t in p["tasks"]} == seen
    assert all(p["estimated_cost_usd"] >= 0 for p in plan["phases"])


async def test_planner_decomposes_free_text_without_a_list() -> None:
    plan = json.loads(await ask(SimulatorModel("planner"), "Build a tiny URL shortener"))
    assert len(plan["tasks"]) == 5
    assert {t["role"] for t in plan["tasks"]} <= {"executor", "coder", "reviewer"}
    assert all("URL shortener" in t["title"] for t in plan["tasks"])


async def test_planner_tasks_follow_from_the_free_text_of_the_goal() -> None:
    goal = "## Goal\n\nBuild a website for my bakery with an online order form and a weekly menu"
    plan = json.loads(await ask(SimulatorModel("planner"), goal))
    titles = [t["title"] for t in plan["tasks"]]
    assert plan["title"].startswith("Build a website for my bakery")
    assert "Goal" not in titles[0]
    assert all("bakery" in t for t in titles)
    assert "Add the online order form to the bakery website" in titles
    assert "Add the weekly menu to the bakery website" in titles
    by_title = {t["title"]: t for t in plan["tasks"]}
    build = next(t for t in plan["tasks"] if t["title"].startswith("Build the pages"))
    test = next(t for t in plan["tasks"] if t["title"].startswith("Test the bakery"))
    # the features are built after the pages and tested with them
    order_form = by_title["Add the online order form to the bakery website"]
    assert build["id"] in order_form["prerequisites"]
    assert order_form["id"] in test["prerequisites"]
    assert build["subtasks"]
    party = json.loads(await ask(SimulatorModel("planner"), "Organise a summer party for the team"))
    assert all("summer party" in t["title"] for t in party["tasks"])
    assert any("venue" in t["title"] for t in party["tasks"])


async def test_drafts_and_feedback_are_written_about_the_task_topic() -> None:
    task = json.dumps({"topic": "Sourdough baking at home", "audience": "beginner bakers"})
    draft = await ask(SimulatorModel("producer"), f"## Task\n\n{task}\n\n## What to do\n\nWrite.")
    assert draft.splitlines()[1] == "# Sourdough baking at home"
    assert "sourdough baking at home to beginner bakers" in draft
    assert "**Sourdough**" in draft
    verdict = json.loads(await ask(SimulatorModel("evaluator"), f"## Task\n\n{task}\n\n{draft}"))
    assert (
        "add concrete examples of sourdough baking at home for beginner bakers"
        in (verdict["feedback"])
    )
    prompt = f"## Task\n\n{task}\n\n## Draft (attempt 1)\n\n{draft}\n\n## Feedback\n\n" + (
        json.dumps(verdict)
    )
    revised = await ask(SimulatorModel("reviser"), prompt)
    assert "## Key ideas" in revised  # the draft is kept
    assert "### An example of sourdough baking at home" in revised


async def test_an_executor_names_its_task_and_what_it_built_on() -> None:
    task = {"id": "T5", "title": "Add the order form", "plan": "Bakery website"}
    prompt = (
        f"## Task\n\n{json.dumps(task)}\n\n## Results of its prerequisites\n\n"
        "### T4: Build the pages\n\ndone\n\n## What to do\n\nCarry out this task."
    )
    result = await ask(SimulatorModel("executor"), prompt)
    assert result.startswith("# Add the order form")
    assert "Added the order form, as part of “Bakery website”." in result
    assert "It builds on T4: Build the pages." in result


async def test_coder_answers_whole_files_whose_test_passes(tmp_path: Path) -> None:
    answer = json.loads(await ask(SimulatorModel("coder"), "Task: add a slugify helper"))
    assert isinstance(answer["summary"], str)
    for edit in answer["files"]:
        assert set(edit) == {"path", "content"}
        path = tmp_path / edit["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(edit["content"])
    [test_path] = [tmp_path / f["path"] for f in answer["files"] if f["path"].startswith("tests/")]
    spec = importlib.util.spec_from_file_location("simulated_test", test_path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [getattr(module, n) for n in dir(module) if n.startswith("test_")]
    assert tests
    for test in tests:
        test()


async def test_reviewer_answers_findings_by_severity() -> None:
    review = json.loads(await ask(SimulatorModel("reviewer"), "Review app/api.py and app/db.py"))
    assert isinstance(review["approved"], bool)
    assert {f["path"] for f in review["findings"]} == {"app/api.py", "app/db.py"}
    for finding in review["findings"]:
        assert finding["severity"] in ("low", "medium", "high")
        assert finding["title"]
        assert finding["recommendation"]


async def test_the_role_is_read_from_the_instructions_when_not_given() -> None:
    text = await ask(SimulatorModel(), TASK, instructions='You are "judge". role: evaluator')
    assert "score" in json.loads(text)


async def test_the_failure_rate_fails_the_same_calls_for_the_same_seed() -> None:
    async def outcomes(seed: int) -> list[bool]:
        model = SimulatorModel("producer", SimulatorConfig(failure_rate=0.5, seed=seed))
        results = []
        for _ in range(20):
            try:
                await ask(model, TASK)
                results.append(True)
            except ModelUnavailableError as error:
                results.append(not is_transient(error))
        return results

    first = await outcomes(7)
    assert first == await outcomes(7)
    assert 0 < first.count(False) < 20


async def test_latency_delays_each_call() -> None:
    model = SimulatorModel("producer", SimulatorConfig(latency=0.05))
    started = time.perf_counter()
    await asyncio.gather(*(ask(model, TASK) for _ in range(10)))
    assert 0.05 <= time.perf_counter() - started < 0.5  # concurrent calls wait together


async def test_offered_tools_are_called_once_then_the_answer_uses_their_results() -> None:
    model = SimulatorModel("executor")
    tool = ToolDefinition(
        name="word_count",
        parameters_json_schema={
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    )
    params = ModelRequestParameters(function_tools=[tool], allow_text_output=True)
    messages: list[Any] = [ModelRequest(parts=[UserPromptPart("count these words")])]
    first = await model.request(messages, None, params)
    [call] = first.parts
    assert isinstance(call, ToolCallPart)
    assert call.tool_name == "word_count"
    assert call.args_as_dict() == {"text": "count these words"}
    messages += [
        first,
        ModelRequest(parts=[ToolReturnPart("word_count", 3, tool_call_id=call.tool_call_id)]),
    ]
    final = await model.request(messages, None, params)
    [text] = final.parts
    assert isinstance(text, TextPart)
    assert "tool word_count: 3" in text.content


@pytest.mark.parametrize("role", ["producer", "planner", "nonexistent-role"])
async def test_any_role_gets_an_answer(role: str) -> None:
    assert await ask(SimulatorModel(role), "")
