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
    settings = fast_settings(database_url, simulator="always", stack_hold_delay=timedelta(0))
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
