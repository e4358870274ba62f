"""Queries on schedules; firing one is a guarded move of its due time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from agentdeck.store.schema import schedules


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """A schedule as stored."""

    id: str
    name: str
    workflow: str
    inputs: dict[str, Any]
    spec: str
    enabled: bool
    next_due_at: datetime
    last_run_id: str | None
    created_at: datetime


def insert_schedule(conn: Connection, row: dict[str, Any]) -> ScheduleRow:
    conn.execute(schedules.insert().values(**row))
    return ScheduleRow(**row)


def list_schedules(conn: Connection) -> list[ScheduleRow]:
    rows = conn.execute(select(schedules).order_by(schedules.c.name))
    return [ScheduleRow(**r._mapping) for r in rows]


def find_schedule(conn: Connection, key: str) -> ScheduleRow | None:
    """By id, else by name."""
    row = conn.execute(
        select(schedules).where((schedules.c.id == key) | (schedules.c.name == key))
    ).first()
    return ScheduleRow(**row._mapping) if row else None


def delete_schedule(conn: Connection, schedule_id: str) -> bool:
    return conn.execute(delete(schedules).where(schedules.c.id == schedule_id)).rowcount == 1


def set_enabled(conn: Connection, schedule_id: str, enabled: bool, next_due_at: datetime) -> None:
    conn.execute(
        update(schedules)
        .where(schedules.c.id == schedule_id)
        .values(enabled=enabled, next_due_at=next_due_at)
    )


def due_schedules(conn: Connection, now: datetime, limit: int = 100) -> list[ScheduleRow]:
    rows = conn.execute(
        select(schedules)
        .where(schedules.c.enabled.is_(True), schedules.c.next_due_at <= now)
        .order_by(schedules.c.next_due_at)
        .limit(limit)
    )
    return [ScheduleRow(**r._mapping) for r in rows]


def move_due(
    conn: Connection, schedule_id: str, due: datetime, next_due_at: datetime, run_id: str | None
) -> bool:
    """Move the due time on from `due`; False when another process already did (it fires).

    `run_id`: the run this due time submits (None: none, the last run stays)."""
    result = conn.execute(
        update(schedules)
        .where(
            schedules.c.id == schedule_id,
            schedules.c.next_due_at == due,
            schedules.c.enabled.is_(True),
        )
        .values(next_due_at=next_due_at, **({"last_run_id": run_id} if run_id else {}))
    )
    return result.rowcount == 1
