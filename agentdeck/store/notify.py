"""Cross-process wake-ups on PostgreSQL: NOTIFY inside a transaction, LISTEN outside."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from agentdeck.domain.topics import Topic
from agentdeck.store.database import pg_connection_defaults

CHANNEL = "agentdeck"


def payload(topic: Topic, run_id: str | None = None) -> str:
    """A wake-up as a NOTIFY payload: `topic` or `topic:run_id`."""
    return f"{topic}:{run_id}" if run_id else topic.value


def parse_payload(text: str) -> tuple[Topic, str | None]:
    topic, _, run_id = text.partition(":")
    return Topic(topic), run_id or None


def notify(conn: Connection, payloads: Sequence[str]) -> None:
    """Queue notifications that PostgreSQL delivers when this transaction commits."""
    if payloads and conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
            {"channel": CHANNEL, "payloads": list(dict.fromkeys(payloads))},
        )


def libpq_url(sqlalchemy_url: str) -> str:
    """The same database as a plain libpq URL, for a raw psycopg connection."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class ListenConnection:
    """One LISTEN connection; iterate `payloads()` until it breaks."""

    def __init__(self, url: str) -> None:
        self._url = libpq_url(url)
        self._conn: psycopg.AsyncConnection[object] | None = None

    async def open(self) -> int:
        """Connect and LISTEN; returns the server process id (tests terminate it)."""
        conninfo = make_conninfo(self._url, **pg_connection_defaults(self._url))
        self._conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        await self._conn.execute(f"LISTEN {CHANNEL}")
        return self._conn.info.backend_pid

    async def payloads(self) -> AsyncIterator[str]:
        """Every notification's payload, until the connection breaks."""
        assert self._conn is not None, "open() first"
        async for notification in self._conn.notifies():
            yield notification.payload

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
