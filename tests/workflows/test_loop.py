"""The loop workflow: pass, revise, fail with the best attempt, cancel, pause and resume.

The simulator's evaluator scores attempt 1 about 0.56, attempt 2 about 0.85 and attempt 3
about 0.94 (see llm/simulated_roles.py): the pass threshold picks the attempt that passes.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.runs import Run
from agentdeck.workflows.loop import LoopInputs
from tests.llm.decks import drain
from tests.workflows.simulated import SimulatedCalls, usage_by_step, wait_for

PASS_ON_1 = 0.5
PASS_ON_2 = 0.8
PASS_ON_3 = 0.9
NEVER = 0.99
TASK = {"topic": "Durable execution for AI agents", "audience": "engineers"}


async def run_loop(deck: Deck, **inputs: Any) -> Run:
    run = await deck.submit("loop", {"task": TASK, **inputs})
    await drain(deck)
    return await deck.get(run.id)


async def stages(deck: Deck, run_id: str) -> list[tuple[str, int]]:
    return [
        (e.data["stage"], e.data["attempt"])
        for e in await deck.events(run_id)
        if e.kind == "stage.changed"
    ]


async def kinds(deck: Deck, run_id: str) -> list[str]:
    return [e.kind for e in await deck.events(run_id)]


async def test_loop_passes_on_attempt_1_with_draft_and_evaluation_artifacts(deck: Deck) -> None:
    run = await run_loop(deck, pass_threshold=PASS_ON_1)

    assert run.status == "succeeded", run.error
    assert (run.verdict, run.attempt, run.stage) == ("passed", 1, None)
    assert run.score is not None
    assert run.score >= PASS_ON_1
    assert run.agents == ["evaluator", "producer", "reviser"]
    assert run.result["verdict"] == "passed"
    assert run.result["best_attempt"] == 1
    assert [a["attempt"] for a in run.result["attempts"]] == [1]

    artifacts = await deck.artifacts(run.id)
    assert [(a.name, a.media_type, a.attempt) for a in artifacts] == [
        ("attempt-1.md", "text/markdown", 1),
        ("attempt-1.eval.json", "application/json", 1),
    ]
    assert artifacts[0].content.lstrip().startswith("<!-- agentdeck:simulator attempt=1 -->")
    assert TASK["topic"] in artifacts[0].content
    evaluation = json.loads(artifacts[1].content)
    assert evaluation["score"] == run.score
    assert evaluation["passed"] is True
    assert evaluation["feedback"]
    assert set(evaluation["criteria"]) == {"completeness", "clarity", "accuracy"}
    assert run.result["artifact"] == artifacts[0].id

    assert await stages(deck, run.id) == [("producing", 1), ("evaluating", 1)]
    assert sorted(s.key for s in await deck.steps(run.id)) == [
        "draft:1",
        "evaluation:1",
        "llm:evaluate:1",
        "llm:produce:1",
    ]
    scores = [e for e in await deck.events(run.id) if e.kind == "score"]
    assert [(e.data["attempt"], e.data["passed"]) for e in scores] == [(1, True)]
    assert (await kinds(deck, run.id))[-2:] == ["verdict", "run.succeeded"]


async def test_loop_revises_until_attempt_3_passes(deck: Deck, calls: SimulatedCalls) -> None:
    run = await run_loop(deck, pass_threshold=PASS_ON_3)

    assert run.status == "succeeded", run.error
    assert (run.verdict, run.attempt) == ("passed", 3)
    assert await stages(deck, run.id) == [
        ("producing", 1),
        ("evaluating", 1),
        ("revising", 2),
        ("evaluating", 2),
        ("revising", 3),
        ("evaluating", 3),
    ]
    scores = [e.data["score"] for e in await deck.events(run.id) if e.kind == "score"]
    assert len(scores) == 3
    assert scores == sorted(scores)
    assert scores[-1] == run.score >= PASS_ON_3 > scores[1]
    assert [a["passed"] for a in run.result["attempts"]] == [False, False, True]

    names = [a.name for a in await deck.artifacts(run.id)]
    assert names == [f"attempt-{n}{suffix}" for n in (1, 2, 3) for suffix in (".md", ".eval.json")]
    drafts = {a.attempt: a.content for a in await deck.artifacts(run.id) if a.name.endswith(".md")}
    assert "## Revision 2" in drafts[2]
    assert "## Revision 3" in drafts[3]
    # the reviser worked from the evaluator's feedback
    assert "Addressed: add concrete examples" in drafts[2]
    assert calls.answered == {"producer": 1, "evaluator": 3, "reviser": 2}
    assert await usage_by_step(deck) == {
        key: 1
        for key in (
            "llm:produce:1",
            "llm:evaluate:1",
            "llm:revise:2",
            "llm:evaluate:2",
            "llm:revise:3",
            "llm:evaluate:3",
        )
    }


async def test_loop_that_never_passes_fails_with_verdict_and_best_attempt(deck: Deck) -> None:
    run = await run_loop(deck, pass_threshold=NEVER, max_attempts=2)

    assert run.status == "failed"
    assert (run.verdict, run.attempt, run.stage) == ("failed", 2, None)
    assert run.error is not None
    assert "did not pass within 2 attempt(s)" in run.error
    assert "best score" in run.error
    assert "at attempt 2" in run.error
    events = await deck.events(run.id)
    best = [e for e in events if e.kind == "attempt.best"]
    assert len(best) == 1
    assert best[0].data["attempt"] == 2
    assert run.score == best[0].data["score"]
    artifacts = {a.id: a for a in await deck.artifacts(run.id)}
    assert artifacts[best[0].data["draft_artifact"]].name == "attempt-2.md"
    assert artifacts[best[0].data["evaluation_artifact"]].name == "attempt-2.eval.json"
    verdicts = [e for e in events if e.kind == "verdict"]
    assert [(e.data["verdict"], e.data["best_attempt"]) for e in verdicts] == [("failed", 2)]
    assert [e.kind for e in events][-1] == "run.failed"
    assert len(artifacts) == 4


async def test_loop_with_one_attempt_does_not_revise(deck: Deck, calls: SimulatedCalls) -> None:
    run = await run_loop(deck, pass_threshold=NEVER, max_attempts=1)

    assert (run.status, run.verdict) == ("failed", "failed")
    assert "within 1 attempt(s)" in (run.error or "")
    assert calls.answered == {"producer": 1, "evaluator": 1}


async def test_loop_cancelled_mid_evaluation_stops_at_once(
    deck: Deck, calls: SimulatedCalls
) -> None:
    held = calls.hold("evaluator", nth=1)
    worker = deck.worker(concurrency=4)
    await worker.start()
    run = await deck.submit("loop", {"task": TASK, "pass_threshold": PASS_ON_2})
    await wait_for(held.entered, "the first evaluation to start")

    await deck.cancel(run.id)
    done = await deck.wait(run.id, timeout=10)

    assert done.status == "cancelled"
    assert done.verdict is None
    assert (done.stage, done.attempt) == ("evaluating", 1)
    assert sorted(s.key for s in await deck.steps(run.id)) == ["draft:1", "llm:produce:1"]
    assert [a.name for a in await deck.artifacts(run.id)] == ["attempt-1.md"]
    assert calls.answered == {"producer": 1}  # the evaluation never answered
    assert (await kinds(deck, run.id))[-1] == "run.cancelled"


async def test_loop_paused_between_attempts_resumes_without_calling_finished_stages_again(
    deck: Deck, calls: SimulatedCalls
) -> None:
    held = calls.hold("evaluator", nth=1)
    worker = deck.worker(concurrency=4)
    await worker.start()
    run = await deck.submit("loop", {"task": TASK, "pass_threshold": PASS_ON_2})
    await wait_for(held.entered, "the first evaluation to start")

    await deck.pause(run.id)
    held.release.set()  # the evaluation finishes; the run parks after it
    paused = await deck.wait(run.id, timeout=10)
    assert paused.status == "paused"
    assert (paused.stage, paused.attempt) == ("evaluating", 1)
    assert calls.answered == {"producer": 1, "evaluator": 1}

    await deck.resume(run.id)
    done = await deck.wait(run.id, timeout=10)

    assert done.status == "succeeded", done.error
    assert (done.verdict, done.attempt) == ("passed", 2)
    # every finished stage was replayed from the journal, not asked again
    assert calls.answered == {"producer": 1, "evaluator": 2, "reviser": 1}
    steps = await deck.steps(run.id)
    assert Counter(s.key for s in steps) == {
        key: 1
        for key in (
            "llm:produce:1",
            "draft:1",
            "llm:evaluate:1",
            "evaluation:1",
            "llm:revise:2",
            "draft:2",
            "llm:evaluate:2",
            "evaluation:2",
        )
    }
    assert all(s.attempts == 1 for s in steps)
    assert set((await usage_by_step(deck)).values()) == {1}
    # stages are announced once, artifacts written once, across the pause
    assert await stages(deck, run.id) == [
        ("producing", 1),
        ("evaluating", 1),
        ("revising", 2),
        ("evaluating", 2),
    ]
    names = [a.name for a in await deck.artifacts(run.id)]
    assert sorted(names) == sorted(set(names))
    assert len(names) == 4
    events = await kinds(deck, run.id)
    assert events.index("run.paused") < events.index("run.resumed") < events.index("verdict")


async def test_loop_with_an_unreadable_evaluation_fails_the_step_clearly(
    deck: Deck, calls: SimulatedCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = deck.llm.factory.simulator("evaluator")
    real = model.request

    async def prose(*args: Any, **kwargs: Any) -> Any:
        response = await real(*args, **kwargs)
        response.parts[0].content = "Looks good to me, nice work."  # type: ignore[union-attr]
        return response

    monkeypatch.setattr(model, "request", prose)
    run = await run_loop(deck, pass_threshold=PASS_ON_2)

    assert run.status == "failed"
    assert run.verdict is None
    assert "evaluation:1" in (run.error or "")
    assert "EvaluationUnreadable" in (run.error or "")
    assert "Looks good to me" in (run.error or "")
    events = await deck.events(run.id)
    errors = [e for e in events if e.kind == "error"]
    assert [(e.data["stage"], e.data["attempt"]) for e in errors] == [("evaluating", 1)]
    assert "step.failed" in [e.kind for e in events]


async def test_loop_with_one_agent_in_every_role_answers_in_each_role(deck: Deck) -> None:
    # the runner asks the agent to answer in the stage's role: the producer agent
    # evaluates as an evaluator, so the loop passes as with three agents
    one = {"producer": "producer", "evaluator": "producer", "reviser": "producer"}
    run = await run_loop(deck, pass_threshold=PASS_ON_2, **one)

    assert (run.status, run.verdict, run.attempt) == ("succeeded", "passed", 2)
    assert run.agents == ["producer"]


async def test_loop_with_an_unknown_agent_fails_with_an_error_event(deck: Deck) -> None:
    """An agent deleted between submit (which checks it exists) and its first call."""
    await deck.agents.create({"name": "nobody", "role": "evaluator"})
    run = await deck.submit(
        "loop", {"task": TASK, "pass_threshold": PASS_ON_2, "evaluator": "nobody"}
    )
    await deck.agents.delete("nobody")
    await drain(deck)
    run = await deck.get(run.id)

    assert run.status == "failed"
    assert "no agent 'nobody'" in (run.error or "")
    errors = [e for e in await deck.events(run.id) if e.kind == "error"]
    assert [(e.data["stage"], e.data["attempt"]) for e in errors] == [("evaluating", 1)]


async def test_loop_inputs_are_validated_at_submit(deck: Deck) -> None:
    with pytest.raises(InvalidInput, match=r"inputs\.max_attempts"):
        await deck.submit("loop", {"max_attempts": 0})
    with pytest.raises(InvalidInput, match=r"inputs\.pass_threshold"):
        await deck.submit("loop", {"pass_threshold": 1.5})
    with pytest.raises(InvalidInput, match=r"inputs\.task"):
        await deck.submit("loop", {"task": "not an object"})
    with pytest.raises(InvalidInput, match=r"inputs\.max_attempt"):
        await deck.submit("loop", {"max_attempt": 3})  # a typo is not ignored
    with pytest.raises(InvalidInput, match=r"inputs\.reviser: there is no agent named 'ed'"):
        await deck.submit("loop", {"reviser": "ed"})
    agents = {"producer": "producer", "evaluator": "producer", "reviser": "reviser"}
    run = await deck.submit("loop", agents)
    assert run.agents == ["producer", "reviser"]
    assert run.inputs["max_attempts"] == 3
    assert run.inputs["pass_threshold"] == 0.8


def test_loop_input_schema_has_titles_and_descriptions_for_a_form() -> None:
    schema = LoopInputs.model_json_schema()
    properties = schema["properties"]
    assert set(properties) == {
        "producer",
        "evaluator",
        "reviser",
        "task",
        "max_attempts",
        "pass_threshold",
        "budget_usd",
    }
    for name, field in properties.items():
        assert field.get("title"), name
        assert field.get("description"), name
    assert properties["task"]["type"] == "object"
    assert properties["max_attempts"]["minimum"] == 1
    assert properties["max_attempts"]["maximum"] == 20
    assert properties["producer"]["x-agentdeck-kind"] == "agent"
