"""Stacks run end to end with the simulator: cycles, todos, artifacts, pause, scale, stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker
from tests.conftest import fast_settings


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def deck(database_url: str, registry: Registry, clock: FrozenClock) -> AsyncIterator[Deck]:
    """A Deck on a frozen clock: a stack's pauses pass when the test advances it."""
    settings = fast_settings(
        database_url, simulator="always", stack_hold_delay=timedelta(seconds=1)
    )
    deck = Deck(settings, registry=registry, clock=clock, migrate=False)
    await deck.start()
    try:
        yield deck
    finally:
        await deck.close()


@pytest.fixture
async def worker(deck: Deck) -> Worker:
    worker = deck.worker(8)
    await worker.start(loops=False)
    return worker


async def cycles(deck: Deck, worker: Worker, clock: FrozenClock, n: int = 40) -> None:
    """Drain the queue, letting each pause pass, up to `n` times."""
    for _ in range(n):
        await worker.drain()
        clock.advance(timedelta(seconds=11))


async def test_a_stack_without_an_idea_invents_one_builds_its_todos_and_stops_when_done(
    deck: Deck, worker: Worker, clock: FrozenClock
) -> None:
    stack = await deck.stacks.create("alpha", auto_start=True)
    assert stack.state == "running"
    assert stack.run_id
    await cycles(deck, worker, clock)
    stack = await deck.stacks.get("alpha")
    todos = await deck.stacks.todos(stack.id)
    artifacts = await deck.stacks.artifacts(stack.id)
    history = await deck.stacks.cycles(stack.id, limit=500)
    assert stack.idea
    assert len(todos) == 9  # three rounds of three
    assert all(t.status == "done" for t in todos), [(t.title, t.status) for t in todos]
    assert len(artifacts) == len(todos)
    assert stack.state == "stopped", stack.reason
    # the planner keeps answering "nothing more": the same output stops the stack
    assert stack.reason == "stalled: the same output again for 5 cycles"
    first = history[-1]
    assert [n["role"] for n in first.graph] == ["planner", "reviewer", "communicator"]
    assert first.work[0]["reason"] == "planner: no project idea → 10"
    runs = await deck.list()
    assert len(runs.items) == 1  # one run for all the cycles
    steps = await deck.steps(runs.items[0].id)
    assert {s.key.split(":")[0] for s in steps if s.key.startswith("c")} <= {
        f"c{stack.cycles}",
        f"c{stack.cycles + 1}",
    }


def _roles(graph: list[dict[str, Any]]) -> list[str]:
    return [n["role"] for n in graph]


async def test_pause_holds_the_stack_and_resume_goes_on_from_where_it_was(
    deck: Deck, worker: Worker, clock: FrozenClock
) -> None:
    stack = await deck.stacks.create("alpha", idea="A tool library", auto_start=True)
    await worker.run_once()  # cycle 1
    done = (await deck.stacks.get(stack.id)).cycles
    assert done == 1
    paused = await deck.stacks.pause(stack.id)
    await cycles(deck, worker, clock, 5)
    held = await deck.stacks.get(stack.id)
    assert held.cycles == done
    assert held.run_id is None  # its run ended: a paused stack holds nothing
    run = await deck.get(paused.run_id or "")
    assert run.status == "succeeded"
    resumed = await deck.stacks.resume(stack.id)
    assert resumed.run_id not in (None, paused.run_id)
    assert (await deck.get(resumed.run_id or "")).inputs == {"stack_id": stack.id, "cycle": 2}
    await worker.run_once()
    assert (await deck.stacks.get(stack.id)).cycles == 2


async def test_scale_zero_holds_every_stack_without_losing_its_place_and_raising_it_resumes(
    deck: Deck, worker: Worker, clock: FrozenClock
) -> None:
    await deck.stacks.set_scale(0)
    a = await deck.stacks.create("alpha", idea="A tool library", auto_start=True)
    b = await deck.stacks.create("beta", auto_start=True)
    await cycles(deck, worker, clock, 3)
    for stack in (a, b):
        now = await deck.stacks.get(stack.id)
        assert (now.state, now.cycles) == ("running", 0)
        run = await deck.get(now.run_id or "")
        assert run.status == "queued"
        assert run.inputs["cycle"] == 1
    assert await deck.stacks.cycles(a.id) == []
    await deck.stacks.set_scale(1)
    await cycles(deck, worker, clock, 3)
    assert (await deck.stacks.get(a.id)).cycles >= 1
    assert (await deck.stacks.get(b.id)).cycles >= 1


async def test_one_agent_failing_records_its_error_and_the_others_go_on(
    deck: Deck, worker: Worker, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentdeck.llm import simulated_roles

    real = simulated_roles.answer

    def answer(role: str, prompt: str) -> str:
        return "I will not answer in JSON" if role == "stack-builder" else real(role, prompt)

    monkeypatch.setattr("agentdeck.llm.simulator.answer", answer)
    stack = await deck.stacks.create("alpha", idea="A tool library", auto_start=True)
    await cycles(deck, worker, clock, 3)
    history = await deck.stacks.cycles(stack.id)
    builder = [n for c in history for n in c.graph if n["role"] == "builder"]
    assert builder
    assert all(n["state"] == "failed" for n in builder)
    assert "not JSON" in builder[0]["error"]
    others = [n for c in history for n in c.graph if n["role"] != "builder"]
    assert others
    assert all(n["state"] == "succeeded" for n in others)
    agents = {a.role: a for a in await deck.stacks.agents(stack.id)}
    assert agents["builder"].failures >= 1
    assert "not JSON" in (agents["builder"].last_error or "")
    todos = await deck.stacks.todos(stack.id)
    assert todos
    assert all(t.status != "done" for t in todos)


async def test_stop_ends_the_stack_run_and_starting_again_begins_a_new_one(
    deck: Deck, worker: Worker, clock: FrozenClock
) -> None:
    stack = await deck.stacks.create("alpha", idea="A tool library", auto_start=True)
    await worker.run_once()
    first = (await deck.stacks.get(stack.id)).run_id
    stopped = await deck.stacks.stop(stack.id)
    assert stopped.state == "stopped"
    await cycles(deck, worker, clock, 2)
    assert (await deck.get(first or "")).status == "succeeded"
    assert (await deck.stacks.get(stack.id)).cycles == 1
    again = await deck.stacks.start(stack.id)
    assert again.run_id not in (None, first)
    await worker.run_once()
    assert (await deck.stacks.get(stack.id)).cycles == 2


async def test_memory_grows_per_cycle_and_is_summarised_past_the_limit(
    database_url: str, registry: Registry, clock: FrozenClock
) -> None:
    settings = fast_settings(database_url, simulator="always", stack_memory_limit=200)
    deck = Deck(settings, registry=registry, clock=clock, migrate=False)
    await deck.start()
    try:
        worker = deck.worker(8)
        await worker.start(loops=False)
        stack = await deck.stacks.create("alpha", idea="A tool library", auto_start=True)
        await cycles(deck, worker, clock)
        agents = {a.role: a for a in await deck.stacks.agents(stack.id)}
        assert all(len(a.memory) <= 200 for a in agents.values())
        assert agents["builder"].summaries >= 1
        assert agents["builder"].memory.startswith("Summary of")
        steps = [s.key for s in await deck.steps((await deck.list()).items[0].id)]
        assert steps  # the journal is one cycle long, but summaries were journaled calls
    finally:
        await deck.close()


async def test_a_reached_budget_pauses_the_stack_for_a_person(
    deck: Deck, worker: Worker, clock: FrozenClock
) -> None:
    stack = await deck.stacks.create("alpha", budget_usd=0, auto_start=True)
    await cycles(deck, worker, clock, 2)
    parked = await deck.stacks.get(stack.id)
    assert parked.state == "paused"
    assert parked.reason is not None
    assert parked.reason.startswith("budget reached")
    assert parked.run_id is None
    await deck.stacks.set_budget(stack.id, 5)
    await deck.stacks.resume(stack.id)
    await worker.run_once()
    assert (await deck.stacks.get(stack.id)).cycles >= 1


async def test_pause_all_stops_new_cycles_of_fifty_running_stacks_and_resume_all_goes_on(
    deck: Deck, clock: FrozenClock
) -> None:
    worker = deck.worker(60)  # one claim takes every stack's run
    await worker.start(loops=False)
    for i in range(50):
        await deck.stacks.create(f"s{i:02d}", idea=f"Project {i}")
    assert len(await deck.stacks.start_all()) == 50
    await worker.run_once()  # the first cycle of each
    before = {s.id: s.cycles for s in await deck.stacks.list()}
    assert set(before.values()) == {1}
    assert len(await deck.stacks.pause_all()) == 50
    await cycles(deck, worker, clock, 3)
    after = await deck.stacks.list()
    assert {s.id: s.cycles for s in after} == before
    assert {s.run_id for s in after} == {None}  # nothing queued, nothing held
    assert len(await deck.stacks.resume_all()) == 50
    await worker.run_once()
    assert {s.cycles for s in await deck.stacks.list()} == {2}


async def test_a_pause_during_a_cycle_lets_the_wave_finish_and_skips_the_next(
    deck: Deck, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = await deck.stacks.create("alpha", idea="A tool library", auto_start=True)
    await worker.run_once()  # the planner writes todos
    await worker.run_once()  # the builder builds the first one
    board = deck.stacks.board
    original = board.running

    async def paused_meanwhile(stack_id: str) -> bool:
        await deck.stacks.pause(stack_id)  # a person, while the first wave runs
        return await original(stack_id)

    monkeypatch.setattr(board, "running", paused_meanwhile)
    await worker.run_once()
    last = (await deck.stacks.cycles(stack.id, limit=1))[0]
    states = {n["role"]: n["state"] for n in last.graph}
    assert states == {"builder": "succeeded", "communicator": "succeeded", "reviewer": "skipped"}
    paused = await deck.stacks.get(stack.id)
    assert (paused.state, paused.reason, paused.run_id) == ("paused", "paused by a person", None)
