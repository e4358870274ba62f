"""From JSON, structured markdown and free text to a checked task graph, and every refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.plans import InvalidPlan, check_plan, parse_plan
from agentdeck.workflows.plan.decompose import PlanFormat, format_of, read_plan

MARKDOWN = """\
# Launch the website

Everything needed to put the bakery online.

## T1: Research competitors
Role: executor
Confidence: 0.9
Look at the three closest bakeries.
- T1.1: List the competitors
- T1.2: Compare their prices (depends on T1.1)

## T2: Write the landing page (depends on T1)
Role: coder

## T3 - Review everything
Depends on: T1, T2
Confidence: 40%
"""


def graph_of(plan: Any, form: str = "auto") -> Any:
    graph = read_plan(plan, form)
    assert graph is not None
    return graph


def test_a_json_plan_becomes_a_graph_of_leaves_with_inherited_prerequisites() -> None:
    plan = {
        "title": "Site",
        "tasks": [
            {"id": "T1", "title": "Research"},
            {
                "id": "T2",
                "title": "Design",
                "prerequisites": ["T1"],
                "role": "coder",
                "subtasks": [
                    {"id": "T2.1", "title": "Sketch"},
                    {"id": "T2.2", "title": "Refine", "depends_on": ["T2.1"]},
                ],
            },
            {"id": "T3", "title": "Ship", "prerequisites": ["T2"]},
        ],
    }
    graph = graph_of(plan)
    assert graph.leaves == ("T1", "T2.1", "T2.2", "T3")
    assert graph.needs["T2.1"] == {"T1"}
    assert graph.needs["T2.2"] == {"T1", "T2.1"}
    assert graph.needs["T3"] == {"T2.1", "T2.2"}
    assert graph.nodes["T2.2"].role == "coder"  # inherited from its task
    assert graph.nodes["T1"].role == "executor"
    assert graph.layers() == {"T1": 0, "T2.1": 1, "T2.2": 2, "T3": 3, "T2": 1}


def test_a_plan_may_be_a_json_string_or_a_bare_list_of_tasks() -> None:
    tasks = [{"id": "a1", "title": "One"}, {"id": "a2", "title": "Two", "prerequisites": ["a1"]}]
    assert graph_of(json.dumps({"tasks": tasks})).leaves == ("a1", "a2")
    assert graph_of(tasks).leaves == ("a1", "a2")
    assert format_of(json.dumps(tasks), "auto") == PlanFormat.JSON


def test_a_markdown_plan_reads_headings_lists_fields_and_depends_on() -> None:
    assert format_of(MARKDOWN, "auto") == PlanFormat.MARKDOWN
    graph = graph_of(MARKDOWN)
    plan = graph.plan
    assert plan.title == "Launch the website"
    assert plan.summary == "Everything needed to put the bakery online."
    assert [t.id for t in plan.tasks] == ["T1", "T2", "T3"]
    t1 = plan.tasks[0]
    assert t1.description == "Look at the three closest bakeries."
    assert [s.id for s in t1.subtasks] == ["T1.1", "T1.2"]
    assert t1.subtasks[1].prerequisites == ["T1.1"]
    assert t1.subtasks[1].title == "Compare their prices"
    assert plan.tasks[1].title == "Write the landing page"
    assert plan.tasks[1].prerequisites == ["T1"]
    assert plan.tasks[1].role == "coder"
    assert plan.tasks[2].title == "Review everything"
    assert plan.tasks[2].prerequisites == ["T1", "T2"]
    assert plan.tasks[2].confidence == pytest.approx(0.4)
    assert graph.nodes["T1.2"].confidence == pytest.approx(0.9)  # inherited
    assert graph.needs["T3"] == {"T1.1", "T1.2", "T2"}


@pytest.mark.parametrize(
    "line",
    [
        "- T1: Research",
        "- [T1] Research",
        "* **T1** Research",
        "1. `T1` Research",
        "- [ ] T1 - Research",
        "### T1 — Research",
    ],
)
def test_markdown_task_ids_may_be_written_in_several_ways(line: str) -> None:
    second = (
        "### T2: Ship (depends on T1)" if line.startswith("#") else "- T2: Ship (depends on T1)"
    )
    graph = graph_of(f"{line}\n{second}\n", "markdown")
    assert graph.nodes["T1"].title == "Research"
    assert graph.needs["T2"] == {"T1"}


def test_markdown_prose_is_not_mistaken_for_tasks() -> None:
    text = "# Notes\n\n**Important**: ship it.\n- Note: remember the logo\n- [docs](http://x)\n"
    assert format_of(text, "auto") == PlanFormat.TEXT
    with pytest.raises(InvalidPlan, match="no tasks found in the markdown"):
        read_plan(text, "markdown")


def test_free_text_is_left_to_the_planner() -> None:
    assert read_plan("Open a bakery website with online orders.") is None
    assert format_of("Open a bakery website.", "auto") == PlanFormat.TEXT


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (
            {"tasks": [{"id": "T1", "title": "a"}, {"id": "T1", "title": "b"}]},
            "duplicate task ids: T1 (2 times)",
        ),
        (
            {"tasks": [{"id": "T1", "title": "a", "subtasks": [{"id": "T1", "title": "b"}]}]},
            "duplicate task ids: T1 (2 times)",
        ),
        (
            {"tasks": [{"id": "T1", "title": "a", "prerequisites": ["T9", "X"]}]},
            "unknown prerequisites: T1 -> T9, T1 -> X",
        ),
        (
            {
                "tasks": [
                    {"id": "T1", "title": "a", "prerequisites": ["T3"]},
                    {"id": "T2", "title": "b", "prerequisites": ["T1"]},
                    {"id": "T3", "title": "c", "prerequisites": ["T2"]},
                ]
            },
            "prerequisites form a cycle: T1 -> T3 -> T2 -> T1",
        ),
        (
            {"tasks": [{"id": "T1", "title": "a", "prerequisites": ["T1"]}]},
            "prerequisites form a cycle: T1 -> T1",
        ),
        (
            {
                "tasks": [
                    {
                        "id": "T1",
                        "title": "a",
                        "subtasks": [{"id": "T1.1", "title": "b", "prerequisites": ["T1"]}],
                    }
                ]
            },
            "prerequisites form a cycle: T1 -> T1.1 -> T1",
        ),
        ({"tasks": []}, "tasks: List should have at least 1 item"),
        ({"tasks": [{"id": "T1"}]}, "tasks[0].title: Field required"),
        ({"tasks": [{"id": "T1", "title": "a", "owner": "x"}]}, "owner: is not a known field"),
        ({"tasks": [{"id": "T 1", "title": "a"}]}, "tasks[0].id: String should match"),
        ({"tasks": [{"id": "T1", "title": "a", "confidence": 3}]}, "less than or equal to 1"),
        ("{not json", "the plan is not valid JSON"),
        ("   ", "the plan is empty"),
        ("## T1: a\nConfidence: high\n", "task T1: confidence must be a number, not 'high'"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_problem(plan: Any, message: str) -> None:
    with pytest.raises(InvalidPlan) as refused:
        read_plan(plan)
    assert message in str(refused.value)


def test_every_cycle_and_every_unknown_prerequisite_is_named() -> None:
    tasks = [
        {"id": "A1", "title": "a", "prerequisites": ["A2"]},
        {"id": "A2", "title": "b", "prerequisites": ["A1"]},
        {"id": "B1", "title": "c", "prerequisites": ["B2"]},
        {"id": "B2", "title": "d", "prerequisites": ["B1"]},
    ]
    with pytest.raises(InvalidPlan) as refused:
        check_plan(parse_plan(tasks))
    assert "A1 -> A2 -> A1" in str(refused.value)
    assert "B1 -> B2 -> B1" in str(refused.value)


def test_a_large_layered_plan_is_checked_quickly() -> None:
    tasks = [
        {
            "id": f"L{layer}-{i}",
            "title": f"task {layer}-{i}",
            "prerequisites": [f"L{layer - 1}-{(i + k) % 100}" for k in range(3)] if layer else [],
        }
        for layer in range(10)
        for i in range(100)
    ]
    graph = check_plan(parse_plan(tasks))
    assert len(graph.leaves) == 1000
    assert max(graph.layers().values()) == 9


# --- through the workflow ----------------------------------------------------------


async def test_a_bad_plan_is_refused_at_submit_and_nothing_is_created(deck: Deck) -> None:
    plan = {"tasks": [{"id": "T1", "title": "a", "prerequisites": ["T2"]}]}
    with pytest.raises(InvalidInput) as refused:
        await deck.submit("plan", {"plan": plan})
    assert refused.value.field == "inputs.plan"
    assert str(refused.value) == "inputs.plan: unknown prerequisites: T1 -> T2"
    assert (await deck.list()).items == []


async def test_each_form_runs_to_its_tasks(deck: Deck) -> None:
    worker = deck.worker(4)
    await worker.start(loops=False)
    forms: dict[str, Any] = {
        "json": {"tasks": [{"id": "T1", "title": "One"}, {"id": "T2", "title": "Two"}]},
        "markdown": MARKDOWN.replace("40%", "90%"),
        "text": "Open a bakery website.\n\n- Bake the photos\n- Write the menu\n- Take orders",
    }
    runs = {
        form: await deck.submit("plan", {"plan": plan, "dispatch": "internal"})
        for form, plan in forms.items()
    }
    await worker.drain()
    for form, run in runs.items():
        done = await deck.get(run.id)
        assert done.status == "succeeded", (form, done.error)
        assert done.progress == 1.0
        tasks = await deck.tasks.tasks(run.id)
        assert tasks, form
        assert all(t.status == "completed" for t in tasks if not t.is_group), form
    planned = [t.key for t in await deck.tasks.tasks(runs["text"].id)]
    # the offline planner makes a task of every list item, each with two subtasks
    assert planned[:3] == ["T1", "T1.1", "T1.2"]
    assert len(planned) == 9
    steps = {s.key for s in await deck.steps(runs["text"].id)}
    assert "llm:plan:1" in steps


async def test_a_planner_that_keeps_answering_a_bad_plan_fails_the_run_and_creates_nothing(
    deck: Deck, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentdeck.llm import simulated_roles

    cyclic = {
        "tasks": [
            {"id": "T1", "title": "a", "prerequisites": ["T2"]},
            {"id": "T2", "title": "b", "prerequisites": ["T1"]},
        ]
    }
    original = simulated_roles.answer

    def answer(role: str, prompt: str) -> str:
        return json.dumps(cyclic) if role == "planner" else original(role, prompt)

    monkeypatch.setattr("agentdeck.llm.simulator.answer", answer)
    worker = deck.worker(4)
    await worker.start(loops=False)
    run = await deck.submit("plan", {"plan": "Do something vague."})
    await worker.drain()
    done = await deck.get(run.id)
    assert done.status == "failed"
    assert "gave no valid plan in 2 attempts" in (done.error or "")
    assert "T1 -> T2 -> T1" in (done.error or "")
    assert await deck.tasks.tasks(run.id) == []
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("plan.invalid") == 2  # one per refused answer
