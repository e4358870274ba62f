"""PostgreSQL wake-ups survive a killed LISTEN connection: the listener reconnects by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.notifier import PgListener, Topic
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings

# Far longer than any wait below: a run picked up in time was not found by polling.
SLOW_POLL = timedelta(seconds=30)
IN_TIME = 5.0


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("echo")
    async def echo(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return inputs

    return registry


@dataclass
class TwoProcesses:
    """A deck with a started worker, and another deck on the same database (say, the API)."""

    worker_deck: Deck
    submitter: Deck

    @property
    def listener(self) -> PgListener:
        assert self.worker_deck.listener is not None
        return self.worker_deck.listener


@pytest.fixture
async def decks(backend: str, database_url: str, registry: Registry) -> AsyncIterator[TwoProcesses]:
    if backend != "postgres":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL only")
    slow = fast_settings(database_url, poll_interval=SLOW_POLL)
    worker_deck = Deck(slow, registry=registry, migrate=False)
    submitter = Deck(fast_settings(database_url), registry=registry, migrate=False)
    try:
        await worker_deck.start()
        assert worker_deck.listener is not None
        await asyncio.wait_for(worker_deck.listener.connected.wait(), IN_TIME)
        await worker_deck.worker(concurrency=4).start()
        yield TwoProcesses(worker_deck, submitter)
    finally:
        await submitter.close()
        await worker_deck.close()


def terminate(database_url: str, pid: int | None) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
    assert row == (True,)


def reconnected(decks: TwoProcesses, old_pid: int | None) -> asyncio.Event:
    """Set when the listener publishes its (re)connect READY from a new server process."""
    done = asyncio.Event()

    def on_notice(topic: Topic, run_id: str | None) -> None:
        if topic == Topic.READY and run_id is None and decks.listener.backend_pid != old_pid:
            done.set()

    decks.worker_deck.notifier.subscribe(on_notice)
    return done


async def test_run_submitted_by_another_process_is_picked_up_after_listen_is_killed(
    decks: TwoProcesses, database_url: str
) -> None:
    before = await decks.submitter.submit("echo", {"n": 0})
    assert (await decks.worker_deck.wait(before.id, timeout=IN_TIME)).status == "succeeded"

    old_pid = decks.listener.backend_pid
    back = reconnected(decks, old_pid)
    terminate(database_url, old_pid)
    await asyncio.wait_for(back.wait(), IN_TIME)
    assert decks.listener.connected.is_set()
    assert decks.listener.backend_pid not in (None, old_pid)

    after = await decks.submitter.submit("echo", {"n": 1})
    done = await decks.worker_deck.wait(after.id, timeout=IN_TIME)
    assert (done.status, done.result) == ("succeeded", {"n": 1})


async def test_run_submitted_while_listen_is_down_is_not_missed(
    decks: TwoProcesses, database_url: str
) -> None:
    old_pid = decks.listener.backend_pid
    back = reconnected(decks, old_pid)
    terminate(database_url, old_pid)
    # submitted at once: its NOTIFY most likely finds nobody listening
    run = await decks.submitter.submit("echo", {"n": 2})
    done = await decks.worker_deck.wait(run.id, timeout=IN_TIME)
    assert done.status == "succeeded"
    await asyncio.wait_for(back.wait(), IN_TIME)
    assert decks.listener.backend_pid != old_pid
