"""PostgreSQL's pool pings a connection only after it sat idle: none on the hot path, and
a connection the server closed meanwhile is replaced before use."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from agentdeck.deck import Deck
from agentdeck.store import database
from agentdeck.store.notify import libpq_url
from tests.store.rows import row_counts


@pytest.fixture
def pings(deck: Deck, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per ping the deck's engine makes from now on."""
    if deck.db.is_sqlite:
        pytest.skip("SQLite has no server to lose a connection to")
    made: list[int] = []
    dialect = deck.db.engine.dialect
    ping = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        made.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return made


async def test_a_connection_used_a_moment_ago_is_not_pinged(deck: Deck, pings: list[int]) -> None:
    await deck.submit_many([])
    for _ in range(5):
        await row_counts(deck)
    assert pings == []


async def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    deck: Deck, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    await row_counts(deck)  # a connection now waits in the pool
    monkeypatch.setattr(database, "PING_IDLE_AFTER_S", 0.0)
    with psycopg.connect(libpq_url(deck.db.url), autocommit=True) as admin:
        closed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert closed is not None
    assert closed[0] >= 1
    await row_counts(deck)  # no OperationalError: the dead connection was replaced
    assert pings
