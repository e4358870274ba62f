"""A transaction that records events and wakes workers sends one NOTIFY statement, not two."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("noop")
    async def noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
        return None

    return registry


@contextmanager
def notifies(deck: Deck) -> Iterator[list[list[str]]]:
    """The payloads of each pg_notify statement the deck's engine executes meanwhile."""
    sent: list[list[str]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "pg_notify" in statement:
            sent.append(list(params["payloads"]))

    event.listen(deck.db.engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(deck.db.engine, "before_cursor_execute", seen)


async def test_submit_wakes_workers_and_streams_with_one_notify(deck: Deck) -> None:
    with notifies(deck) as sent:
        await deck.submit("noop")
    if deck.db.is_sqlite:
        assert sent == []  # no NOTIFY on SQLite: wake-ups stay in the process
        return
    assert sent == [["event", "ready"]]


async def test_pause_of_a_queued_run_finishes_and_streams_with_one_notify(deck: Deck) -> None:
    run = await deck.submit("noop")
    with notifies(deck) as sent:
        await deck.pause(run.id)
    assert sent == ([] if deck.db.is_sqlite else [["event", f"finished:{run.id}"]])
