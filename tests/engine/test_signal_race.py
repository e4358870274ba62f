"""A signal that races a run's suspend is never lost (PostgreSQL: concurrent transactions)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("listener")
    async def listener(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.wait_for_signal("msg")

    return registry


class SuspendRace:
    """Holds the worker's parking transaction open, uncommitted, until the signal has
    read the run (the bug's interleaving) or waits on a lock the parking holds (the fix)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self.parked = threading.Event()  # the parking UPDATE ran, not committed yet
        self._signal_read = threading.Event()  # the signal's transaction read the run
        self._holder: int | None = None

    def after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        is_park = statement.startswith("UPDATE runs") and "runs.lease_epoch = " in statement
        if is_park and self._holder is None:
            self._holder = threading.get_ident()
            self.parked.set()
            self._wait_for_the_signal()
        elif (
            self.parked.is_set()
            and threading.get_ident() != self._holder
            and statement.startswith("SELECT")
            and "FROM runs" in statement
        ):
            self._signal_read.set()

    def _wait_for_the_signal(self) -> None:
        deadline = time.monotonic() + 10
        with psycopg.connect(self._url, autocommit=True) as probe:
            while not self._signal_read.wait(0.005) and time.monotonic() < deadline:
                blocked = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ).fetchone()
                if blocked and blocked[0] > 0:
                    return


@pytest.fixture
def race(deck: Deck, database_url: str) -> Iterator[SuspendRace]:
    race = SuspendRace(database_url)
    event.listen(deck.db.engine, "after_cursor_execute", race.after)
    yield race
    event.remove(deck.db.engine, "after_cursor_execute", race.after)


async def test_signal_sent_while_the_run_is_being_parked_wakes_it(
    backend: str, deck: Deck, race: SuspendRace
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite has one writer at a time: the two transactions cannot interleave")
    worker = deck.worker()
    await worker.start(loops=False)
    run = await deck.submit("listener")
    executing = asyncio.create_task(worker.run_once())
    assert await asyncio.to_thread(race.parked.wait, 10)

    await deck.signal(run.id, "msg", "hello")
    await executing
    after = await deck.get(run.id)
    assert after.status == "queued", "the signal arrived but nothing will wake the run"
    assert await worker.drain() == 1
    done = await deck.get(run.id)
    assert (done.status, done.result) == ("succeeded", "hello")
