"""Queries on worker rows: register, heartbeat, stop, and spot the lost ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from agentdeck.domain.workers import WorkerRow
from agentdeck.store.schema import workers


def register(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(workers.insert(), [row])


def beat(conn: Connection, worker_id: str, now: datetime) -> None:
    conn.execute(
        update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now, status="alive")
    )


def stop(conn: Connection, worker_id: str, now: datetime) -> None:
    conn.execute(
        update(workers).where(workers.c.id == worker_id).values(status="stopped", stopped_at=now)
    )


def mark_lost(conn: Connection, silent_since: datetime) -> int:
    result = conn.execute(
        update(workers)
        .where(workers.c.status == "alive", workers.c.heartbeat_at < silent_since)
        .values(status="lost")
    )
    return result.rowcount


def alive_workers(conn: Connection) -> list[WorkerRow]:
    """Workers that have not said they stopped, nor been found lost."""
    return [
        WorkerRow(**r._mapping)
        for r in conn.execute(select(workers).where(workers.c.status == "alive"))
    ]


def mark_gone(conn: Connection, worker_ids: list[str]) -> None:
    """Workers known to be gone (their process ended without stopping)."""
    conn.execute(update(workers).where(workers.c.id.in_(worker_ids)).values(status="lost"))


def list_workers(conn: Connection, limit: int = 200) -> list[WorkerRow]:
    query = select(workers).order_by(workers.c.heartbeat_at.desc()).limit(limit)
    return [WorkerRow(**r._mapping) for r in conn.execute(query)]
