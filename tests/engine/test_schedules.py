"""Schedules fire from the workers: each due time submits exactly one run, whoever looks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.engine.context import RunContext
from agentdeck.engine.notifier import Topic
from agentdeck.engine.registry import Registry
from agentdeck.engine.schedules import Scheduler
from agentdeck.engine.worker import Worker
from agentdeck.store.database import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Greeting(BaseModel):
    who: str = "world"


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("greet", inputs=Greeting)
    async def greet(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return f"hello {inputs['who']}"

    return registry


async def scheduled_runs(deck: Deck) -> list[Any]:
    return (await deck.list(limit=500)).items


async def started(deck: Deck) -> Worker:
    worker = deck.worker(concurrency=2)
    await worker.start(loops=False)
    return worker


async def test_two_workers_racing_fire_each_due_time_once(
    frozen_deck: Deck, clock: FrozenClock, database_url: str, registry: Registry
) -> None:
    deck = frozen_deck
    schedule = await deck.schedules.add("hourly", "greet", "every 1 hour", {"who": "ops"})
    assert schedule.next_due_at == T0 + timedelta(hours=1)
    one, two = await started(deck), await started(deck)
    # a third scheduler on its own connection pool: a second process, as far as the
    # database can tell
    other_db = Database(database_url)
    other = Scheduler(other_db, registry, deck.notifier, clock)
    try:
        assert await one.scheduler.fire() == []  # not due yet
        for hour in range(1, 4):
            clock.advance(timedelta(hours=1))
            fired = await asyncio.gather(
                one.scheduler.fire(), two.scheduler.fire(), other.fire(), one.scheduler.fire()
            )
            assert sum(len(f) for f in fired) == 1, fired
            row = await deck.schedules.get("hourly")
            assert row.next_due_at == T0 + timedelta(hours=hour + 1)
            assert row.last_run_id == next(r for f in fired for r in f)
    finally:
        other_db.dispose()
    runs = await scheduled_runs(deck)
    assert len(runs) == 3
    assert {r.idempotency_key for r in runs} == {
        f"schedule:{schedule.id}:{(T0 + timedelta(hours=h)).isoformat()}" for h in (1, 2, 3)
    }
    assert all(r.inputs == {"who": "ops"} and r.workflow == "greet" for r in runs)
    assert await one.drain() == 3
    assert {(await deck.get(r.id)).result for r in runs} == {"hello ops"}


async def test_a_schedule_missed_for_days_fires_once_then_resumes_from_now(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    await deck.schedules.add("nightly", "greet", "daily 03:00")
    worker = await started(deck)
    clock.advance(timedelta(days=3, hours=5))  # 2026-01-04 05:00
    assert len(await worker.scheduler.fire()) == 1
    assert await worker.scheduler.fire() == []
    row = await deck.schedules.get("nightly")
    assert row.next_due_at == datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


async def test_disabled_schedules_do_not_fire_and_enabling_skips_missed_times(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    await deck.schedules.add("quarter", "greet", "every 15 minutes")
    worker = await started(deck)
    assert not (await deck.schedules.disable("quarter")).enabled
    clock.advance(timedelta(hours=1))
    assert await worker.scheduler.fire() == []
    enabled = await deck.schedules.enable("quarter")
    assert enabled.enabled
    assert enabled.next_due_at == T0 + timedelta(minutes=75)
    assert await worker.scheduler.fire() == []
    clock.advance(timedelta(minutes=15))
    assert len(await worker.scheduler.fire()) == 1


async def test_a_worker_without_the_workflow_leaves_the_schedule_to_others(
    frozen_deck: Deck, clock: FrozenClock, database_url: str
) -> None:
    deck = frozen_deck
    await deck.schedules.add("hourly", "greet", "every 1 hour")
    clock.advance(timedelta(hours=1))
    db = Database(database_url)
    try:
        assert await Scheduler(db, Registry(), deck.notifier, clock).fire() == []
    finally:
        db.dispose()
    assert (await deck.schedules.get("hourly")).next_due_at == T0 + timedelta(hours=1)
    assert len(await (await started(deck)).scheduler.fire()) == 1


async def test_bad_schedules_are_refused_and_nothing_is_written(frozen_deck: Deck) -> None:
    deck = frozen_deck
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "a", "workflow": "nope", "spec": "daily 10:00"}, "workflow"),
        ({"name": "a", "workflow": "greet", "spec": "at noon"}, "spec"),
        ({"name": "a", "workflow": "greet", "spec": "daily 10:00", "inputs": {"who": 3}}, "who"),
        ({"name": "", "workflow": "greet", "spec": "daily 10:00"}, "name"),
        ({"name": "../x", "workflow": "greet", "spec": "daily 10:00"}, "name"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as error:
            await deck.schedules.add(**kwargs)
        assert field in (error.value.field or ""), (kwargs, error.value.field)
    assert await deck.schedules.list() == []
    await deck.schedules.add("a", "greet", "daily 10:00")
    with pytest.raises(Conflict):
        await deck.schedules.add("a", "greet", "daily 11:00")
    await deck.schedules.remove("a")
    with pytest.raises(NotFound):
        await deck.schedules.get("a")
    with pytest.raises(NotFound):
        await deck.schedules.remove("a")


async def test_a_running_worker_fires_a_due_schedule_from_its_own_loop(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    await deck.schedules.add("hourly", "greet", "every 1 hour", {"who": "loop"})
    finished: asyncio.Queue[str] = asyncio.Queue()
    deck.notifier.subscribe(
        lambda topic, run_id: (
            finished.put_nowait(run_id) if topic == Topic.FINISHED and run_id else None
        )
    )
    worker = deck.worker(concurrency=2)
    await worker.start()  # its loops: claim, heartbeat, and rescue, which fires schedules
    try:
        clock.advance(timedelta(hours=1))
        run_id = await asyncio.wait_for(finished.get(), timeout=10)
    finally:
        await worker.stop()
    run = await deck.get(run_id)
    assert (run.status, run.result) == ("succeeded", "hello loop")
    assert (await deck.schedules.get("hourly")).last_run_id == run_id
