"""Executing plans with internal agents: parallel waves, retries, failures, review, controls."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.domain.runs import Run
from agentdeck.engine.worker import Worker
from tests.workflows.plan_agents import Script, layered, script_agents
from tests.workflows.simulated import wait_for

GATE = "human review"


@pytest.fixture
async def worker(deck: Deck) -> Worker:
    worker = deck.worker(8)
    await worker.start()
    return worker


async def execute(deck: Deck, plan: Any, **inputs: Any) -> Run:
    run = await deck.submit("plan", {"plan": plan, "dispatch": "internal", **inputs})
    return await deck.wait(run.id, 30)


async def statuses(deck: Deck, run_id: str) -> dict[str, str]:
    return {t.key: t.status for t in await deck.tasks.tasks(run_id)}


async def test_tasks_run_in_parallel_and_never_before_their_prerequisites_complete(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script(latency=0.05))
    plan = layered(layers=4, width=5, fan_in=2)
    run = await execute(deck, plan, max_parallel=3)
    assert run.status == "succeeded", run.error
    assert run.progress == 1.0
    assert run.verdict == "completed"
    needs = {t["id"]: t["prerequisites"] for t in plan}
    calls = {c.key: c for c in script.calls}
    assert len(calls) == len(script.calls) == 20  # each task done once
    for key, prerequisites in needs.items():
        for p in prerequisites:
            assert calls[p].ended is not None
            assert calls[key].started >= calls[p].ended, f"{key} started before {p} ended"
    assert script.most_in_flight == 3  # parallel, and bounded by max_parallel
    tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
    for key, prerequisites in needs.items():
        started = tasks[key].started_at
        assert started is not None
        for p in prerequisites:
            finished = tasks[p].finished_at
            assert finished is not None
            assert started >= finished
        assert tasks[key].status == "completed"
        assert tasks[key].attempt == 1
        assert tasks[key].output["text"].startswith(f"# {tasks[key].title}")


async def test_a_failing_task_is_retried_then_its_dependents_are_skipped(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script(failures={"B": 99}))
    plan = [
        {"id": "A", "title": "First"},
        {"id": "B", "title": "Flaky", "prerequisites": ["A"]},
        {"id": "C", "title": "After B", "prerequisites": ["B"]},
        {"id": "D", "title": "After C", "prerequisites": ["C"]},
        {"id": "E", "title": "Independent", "prerequisites": ["A"]},
    ]
    run = await execute(deck, plan, max_attempts=3, retry_interval_s=0.01)
    assert run.status == "failed"
    assert run.verdict == "failed"
    assert run.error is not None
    assert "1 of 5 task(s) failed: B (" in run.error
    assert "skipped because a prerequisite failed: C, D" in run.error
    assert script.counts()["B"] == 3
    tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
    assert tasks["B"].status == "failed"
    assert tasks["B"].attempt == 3
    assert "scripted failure of B" in (tasks["B"].error or "")
    assert tasks["C"].status == tasks["D"].status == "skipped"
    assert tasks["C"].reason == "prerequisite B failed"
    assert tasks["E"].status == tasks["A"].status == "completed"
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("task.retrying") == 2
    assert kinds.count("task.failed") == 3


async def test_a_task_that_recovers_on_a_retry_completes(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script(failures={"A": 1}))
    run = await execute(deck, [{"id": "A", "title": "Once flaky"}], retry_interval_s=0.01)
    assert run.status == "succeeded", run.error
    assert script.counts()["A"] == 2
    task = (await deck.tasks.tasks(run.id))[0]
    assert (task.status, task.attempt, task.error) == ("completed", 2, None)


async def test_with_ask_human_a_failed_task_waits_for_a_person_who_marks_it_done(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script(failures={"B": 99}))
    plan = [
        {"id": "B", "title": "Needs a person"},
        {"id": "C", "title": "After B", "prerequisites": ["B"]},
    ]
    run = await execute(deck, plan, max_attempts=2, retry_interval_s=0.01, on_failure="ask_human")
    assert (run.status, run.wait_kind, run.waiting_on) == ("waiting", "gate", GATE)
    assert run.stage == GATE
    task = {t.key: t for t in await deck.tasks.tasks(run.id)}["B"]
    assert task.status == "blocked"
    assert "failed after 2 attempt(s)" in (task.reason or "")
    # a person marks it done: its dependent runs with the note as its result
    await deck.tasks.resolve(f"{run.id}:B", "done", note="Did it by hand", by="ann")
    run = await deck.wait(run.id, 30)
    assert run.status == "succeeded", run.error
    tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
    assert tasks["B"].status == "completed"
    assert tasks["B"].output["text"] == "Did it by hand"
    assert tasks["C"].status == "completed"
    assert script.counts() == {"B": 2, "C": 1}


async def test_a_person_can_retry_a_blocked_task_or_skip_it(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script(failures={"B": 3}))
    plan = [
        {"id": "B", "title": "Flaky"},
        {"id": "C", "title": "After B", "prerequisites": ["B"]},
        {"id": "D", "title": "Hopeless"},
    ]
    script.failures["D"] = 99
    inputs = {"max_attempts": 2, "retry_interval_s": 0.01, "on_failure": "ask_human"}
    run = await execute(deck, plan, **inputs)
    assert run.waiting_on == GATE
    assert await statuses(deck, run.id) == {"B": "blocked", "C": "pending", "D": "blocked"}
    # retry at the gate (approve); B fails once more, then succeeds on its own retry
    await deck.decide(run.id, GATE, "approve", data={"task": "B"})
    run = await deck.wait(run.id, 30)
    assert run.waiting_on == GATE
    assert (await statuses(deck, run.id))["C"] == "completed"
    assert script.counts()["B"] == 4
    # reject = skip: D's dependents (none) would go ahead
    await deck.decide(run.id, GATE, "reject", comment="not needed", data={"task": "D"})
    run = await deck.wait(run.id, 30)
    assert run.status == "succeeded", run.error
    final = {t.key: t for t in await deck.tasks.tasks(run.id)}
    assert final["D"].status == "skipped"
    assert final["D"].reason == "not needed"
    assert final["B"].attempt == 4


async def test_low_confidence_tasks_wait_for_review_before_they_run(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script())
    plan = [
        {"id": "A", "title": "Sure", "confidence": 0.9},
        {"id": "B", "title": "Unsure", "confidence": 0.3, "prerequisites": ["A"]},
        {"id": "C", "title": "Unsure too", "confidence": 0.2},
    ]
    run = await execute(deck, plan)
    assert run.waiting_on == GATE
    tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
    assert tasks["B"].needs_review
    assert not tasks["A"].needs_review
    assert tasks["B"].status == tasks["C"].status == "blocked"
    assert "confidence 0.30 is below the review threshold 0.50" in (tasks["B"].reason or "")
    assert script.counts() == {"A": 1}
    # approving names no task: the first blocked one (B) goes ahead, without a new attempt
    await deck.decide(run.id, GATE, "approve")
    run = await deck.wait(run.id, 30)
    assert run.waiting_on == GATE
    await deck.tasks.resolve(f"{run.id}:C", "retry", note="go ahead")
    run = await deck.wait(run.id, 30)
    assert run.status == "succeeded", run.error
    tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
    assert (tasks["B"].status, tasks["B"].attempt) == ("completed", 1)
    assert script.counts() == {"A": 1, "B": 1, "C": 1}


async def test_a_threshold_of_zero_reviews_nothing(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_agents(deck, monkeypatch, Script())
    plan = [{"id": "A", "title": "Unsure", "confidence": 0.1}]
    run = await execute(deck, plan, review_threshold=0)
    assert run.status == "succeeded"


async def test_pause_and_resume_apply_to_the_whole_execution(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script())
    release = script.hold("A")
    plan = [
        {"id": "A", "title": "Held"},
        {"id": "B", "title": "Quick"},
        {"id": "C", "title": "After A", "prerequisites": ["A"]},
    ]
    run = await deck.submit("plan", {"plan": plan, "dispatch": "internal"})
    await wait_for(script.entered["A"], "task A to start")
    await deck.pause(run.id)
    release.set()
    run = await deck.wait(run.id, 30)
    assert run.status == "paused"
    assert (await statuses(deck, run.id))["C"] == "pending"  # nothing new started
    assert script.counts() == {"A": 1, "B": 1}
    await deck.resume(run.id)
    run = await deck.wait(run.id, 30)
    assert run.status == "succeeded", run.error
    assert script.counts() == {"A": 1, "B": 1, "C": 1}  # finished tasks are not redone
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("task.completed") == 3


async def test_cancel_stops_every_task_of_the_execution(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script())
    script.hold("A")
    plan = [{"id": "A", "title": "Held"}, {"id": "B", "title": "Later", "prerequisites": ["A"]}]
    run = await deck.submit("plan", {"plan": plan, "dispatch": "internal"})
    await wait_for(script.entered["A"], "task A to start")
    await deck.cancel(run.id)
    run = await deck.wait(run.id, 30)
    assert run.status == "cancelled"
    assert await statuses(deck, run.id) == {"A": "cancelled", "B": "cancelled"}


async def test_subtasks_run_as_parts_of_their_task(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = script_agents(deck, monkeypatch, Script(latency=0.02))
    plan = [
        {
            "id": "T1",
            "title": "Design",
            "role": "coder",
            "subtasks": [
                {"id": "T1.1", "title": "Sketch"},
                {"id": "T1.2", "title": "Refine", "prerequisites": ["T1.1"]},
            ],
        },
        {"id": "T2", "title": "Ship", "prerequisites": ["T1"]},
    ]
    run = await execute(deck, plan)
    assert run.status == "succeeded", run.error
    order = [c.key for c in script.calls]
    assert order == ["T1.1", "T1.2", "T2"]
    tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
    assert tasks["T1"].is_group
    assert tasks["T1"].status == "pending"
    assert tasks["T1.2"].parent_key == "T1"
    assert tasks["T1.2"].agent == "coder"
    assert tasks["T2"].agent == "executor"
