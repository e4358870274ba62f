"""Stacks in the store: create, bulk state changes in one transaction, scale, shared state."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select

from agentdeck import workflows
from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from agentdeck.domain.ids import new_id
from agentdeck.engine.registry import Registry
from agentdeck.store import stack_board as board_queries
from agentdeck.store.schema import runs
from agentdeck.store.stack_tables import stack_agents, stacks
from tests.conftest import fast_settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def registry() -> Registry:
    """The built-in workflows: a stack's run is a run of the `stack` workflow."""
    registry = Registry()
    workflows.register(registry)
    return registry


async def many(deck: Deck, n: int) -> list[str]:
    """`n` idle stacks written in one go (a factory: creating one by one is not the test)."""
    rows = [
        {
            "id": new_id("stk"),
            "name": f"s{i:05d}",
            "state": "idle",
            "created_at": T0,
            "updated_at": T0,
        }
        for i in range(n)
    ]
    agents = [
        {"stack_id": r["id"], "role": role, "agent": f"stack-{role}"}
        for r in rows
        for role in ("planner", "builder", "communicator", "reviewer")
    ]

    def write(conn: object) -> None:
        conn.execute(insert(stacks), rows)  # type: ignore[attr-defined]
        conn.execute(insert(stack_agents), agents)  # type: ignore[attr-defined]

    await deck.db.write(write)
    return [r["id"] for r in rows]


async def test_create_stores_the_stack_its_agents_and_refuses_bad_input(frozen_deck: Deck) -> None:
    deck = frozen_deck
    started = time.perf_counter()
    stack = await deck.stacks.create("alpha", idea="A tool library", max_concurrent=2)
    assert time.perf_counter() - started < 0.5
    assert (stack.state, stack.idea, stack.max_concurrent) == ("idle", "A tool library", 2)
    agents = await deck.stacks.agents("alpha")
    assert {a.role: a.agent for a in agents} == {
        "planner": "stack-planner",
        "builder": "stack-builder",
        "communicator": "stack-communicator",
        "reviewer": "stack-reviewer",
    }
    with pytest.raises(InvalidInput, match="already exists"):
        await deck.stacks.create("alpha")
    with pytest.raises(InvalidInput, match="no agent named 'nobody'") as caught:
        await deck.stacks.create("beta", agents={"builder": "nobody"})
    assert caught.value.field == "agents.builder"
    with pytest.raises(InvalidInput, match="unknown role"):
        await deck.stacks.create("beta", agents={"painter": "stack-builder"})
    with pytest.raises(InvalidInput, match="max_concurrent"):
        await deck.stacks.create("beta", max_concurrent=0)
    with pytest.raises(InvalidInput, match="budget_usd"):
        await deck.stacks.create("beta", budget_usd="lots")
    with pytest.raises(InvalidInput, match="name"):
        await deck.stacks.create("  ")
    with pytest.raises(NotFound):
        await deck.stacks.get("beta")
    assert [s.name for s in await deck.stacks.list()] == ["alpha"]


async def test_a_role_may_be_filled_by_another_agent_of_the_catalog(frozen_deck: Deck) -> None:
    stack = await frozen_deck.stacks.create("alpha", agents={"reviewer": "reviewer"})
    agents = {a.role: a.agent for a in await frozen_deck.stacks.agents(stack.id)}
    assert agents["reviewer"] == "reviewer"


async def test_start_pause_resume_stop_follow_the_state_machine(frozen_deck: Deck) -> None:
    deck = frozen_deck
    stack = await deck.stacks.create("alpha")
    with pytest.raises(IllegalTransition, match="the stack is idle"):
        await deck.stacks.pause(stack.id)
    started = await deck.stacks.start(stack.id)
    assert started.state == "running"
    assert started.run_id is not None
    run = await deck.get(started.run_id)
    assert (run.workflow, run.status, run.inputs) == (
        "stack",
        "queued",
        {"stack_id": stack.id, "cycle": 1},
    )
    assert (await deck.stacks.pause(stack.id)).state == "paused"
    with pytest.raises(IllegalTransition):
        await deck.stacks.start(stack.id)
    resumed = await deck.stacks.resume(stack.id)
    assert resumed.run_id == started.run_id  # its run never ended: no second run
    stopped = await deck.stacks.stop(stack.id)
    assert stopped.state == "stopped"
    assert stopped.reason == "stopped by a person"
    with pytest.raises(IllegalTransition, match="the stack is stopped"):
        await deck.stacks.stop(stack.id)


async def test_bulk_controls_change_a_thousand_stacks_in_one_transaction(
    frozen_deck: Deck,
) -> None:
    deck = frozen_deck
    ids = await many(deck, 1000)
    started = await deck.stacks.start_all()
    assert len(started) == 1000
    assert {s.state for s in started} == {"running"}
    queued = await deck.db.read(
        lambda conn: conn.execute(
            select(func.count()).where(runs.c.workflow == "stack", runs.c.status == "queued")
        ).scalar_one()
    )
    assert queued == 1000  # one run per stack, written in the same transaction
    await deck.stacks.pause(ids[0])
    paused = await deck.stacks.pause_all()
    assert len(paused) == 999  # the one already paused is left alone
    assert (await deck.stacks.counts())["paused"] == 1000
    assert len(await deck.stacks.resume_all()) == 1000
    assert len(await deck.stacks.stop_all()) == 1000
    assert (await deck.stacks.counts()) == {"idle": 0, "running": 0, "paused": 0, "stopped": 1000}
    restarted = await deck.stacks.start_all()
    assert len(restarted) == 1000
    runs_now = await deck.db.read(
        lambda conn: conn.execute(
            select(func.count()).where(runs.c.workflow == "stack")
        ).scalar_one()
    )
    assert runs_now == 1000  # the queued runs were still alive: reused, not doubled


async def test_scale_is_global_or_per_stack_and_refuses_nonsense(frozen_deck: Deck) -> None:
    deck = frozen_deck
    assert (await deck.stacks.scale())["scale"] == deck.settings.stack_scale
    assert (await deck.stacks.set_scale(0))["scale"] == 0
    assert deck.stacks.board.pool.limit == 0
    assert (await deck.stacks.set_scale(None))["scale"] == deck.settings.stack_scale
    stack = await deck.stacks.create("alpha")
    await deck.stacks.set_scale(1, stack_id=stack.id)
    assert (await deck.stacks.get(stack.id)).scale == 1
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(InvalidInput, match="scale"):
            await deck.stacks.set_scale(bad)  # type: ignore[arg-type]


async def test_broadcasts_are_shared_by_every_stack_and_read_per_stack(frozen_deck: Deck) -> None:
    deck = frozen_deck
    a = await deck.stacks.create("alpha")
    b = await deck.stacks.create("beta")
    message = await deck.stacks.broadcast("Hello every team", stack_id=a.id)
    assert message.kind == "broadcast"
    unread_a = await deck.db.read(lambda conn: board_queries.unread_broadcasts(conn, a.id))
    unread_b = await deck.db.read(lambda conn: board_queries.unread_broadcasts(conn, b.id))
    assert unread_a == []  # its own broadcast
    assert [m.body for m in unread_b] == ["Hello every team"]
    await deck.db.write(lambda conn: board_queries.mark_read(conn, b.id, [], message.id, T0))
    assert await deck.db.read(lambda conn: board_queries.unread_broadcasts(conn, b.id)) == []
    assert [m.body for m in await deck.stacks.broadcasts()] == ["Hello every team"]
    with pytest.raises(InvalidInput, match="empty"):
        await deck.stacks.broadcast("   ")


async def test_forget_steps_keeps_the_current_cycles_steps_and_model_calls(
    frozen_deck: Deck,
) -> None:
    from agentdeck.store.schema import steps

    deck = frozen_deck
    stack = await deck.stacks.start((await deck.stacks.create("alpha")).id)
    keys = ["c1:detect", "llm:c1:planner", "c2:detect", "llm:c2:builder", "tool:c2:builder:1"]
    rows = [
        {
            "run_id": stack.run_id,
            "key": key,
            "status": "succeeded",
            "result": None,
            "attempts": 1,
            "started_at": T0,
            "finished_at": T0,
        }
        for key in keys
    ]
    await deck.db.write(lambda conn: conn.execute(insert(steps), rows))
    await deck.db.write(lambda conn: board_queries.forget_steps(conn, stack.run_id or "", "c2"))
    kept = [s.key for s in await deck.steps(stack.run_id or "")]
    assert sorted(kept) == ["c2:detect", "llm:c2:builder", "tool:c2:builder:1"]


async def test_stacks_do_not_start_where_no_worker_could_run_them(
    database_url: str, clock: FrozenClock
) -> None:
    deck = Deck(fast_settings(database_url), registry=Registry(), clock=clock, migrate=False)
    try:
        stack = await deck.stacks.create("alpha")
        with pytest.raises(Conflict, match="'stack' workflow is not registered"):
            await deck.stacks.start(stack.id)
        assert (await deck.stacks.get(stack.id)).state == "idle"
    finally:
        await deck.close()


async def test_an_output_applied_twice_writes_once_and_counts_the_same(
    frozen_deck: Deck,
) -> None:
    deck = frozen_deck
    stack = await deck.stacks.create("alpha", idea="A tool library")
    board = deck.stacks.board
    context = await board.context(stack.id, "planner", 1)
    output = {
        "idea": None,
        "todos": [{"title": f"Todo {i}", "priority": "high"} for i in range(3)],
        "reprioritise": {},
        "summary": "planned",
    }
    first = await board.apply(stack.id, "planner", 1, context, output, "cycle 1: planned")
    again = await board.apply(stack.id, "planner", 1, context, output, "cycle 1: planned")
    assert first == again == {"todos": 3, "artifacts": 0, "messages": 0}
    assert [t.title for t in await deck.stacks.todos(stack.id)] == ["Todo 0", "Todo 1", "Todo 2"]
    assert (await deck.stacks.memory(stack.id))["planner"] == "cycle 1: planned"
