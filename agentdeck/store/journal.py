"""Queries on what runs record: steps, events, artifacts and signals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from agentdeck.domain.runs import Artifact, Event, Step
from agentdeck.domain.topics import Topic
from agentdeck.store.notify import notify, payload
from agentdeck.store.schema import artifacts, events, runs, signals, steps, usage

# Any constant works; it only has to be the same in every process.
_EVENT_ORDER_LOCK = 0x61676E74


def insert_steps(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Record step results; a key already recorded for the run keeps its first result."""
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(steps).on_conflict_do_nothing(), list(rows))


def insert_steps_returning(
    conn: Connection, rows: Sequence[dict[str, Any]]
) -> set[tuple[str, str]]:
    """`insert_steps`, answering the (run_id, key) of the steps recorded by this call."""
    if not rows:
        return set()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(steps).on_conflict_do_nothing().returning(steps.c.run_id, steps.c.key)
    return {(r.run_id, r.key) for r in conn.execute(stmt, list(rows))}


def load_steps(conn: Connection, run_ids: Iterable[str]) -> dict[str, dict[str, Step]]:
    """The journal of each run: step key -> recorded step."""
    journal: dict[str, dict[str, Step]] = {}
    query = select(
        steps.c.run_id,
        steps.c.key,
        steps.c.status,
        steps.c.result,
        steps.c.error,
        steps.c.attempts,
        steps.c.started_at,
        steps.c.finished_at,
    ).where(steps.c.run_id.in_(list(run_ids)))
    for row in conn.execute(query):
        journal.setdefault(row.run_id, {})[row.key] = Step(*row)
    return journal


def list_steps(conn: Connection, run_id: str) -> list[Step]:
    return list(load_steps(conn, [run_id]).get(run_id, {}).values())


def insert_events(
    conn: Connection, rows: Sequence[dict[str, Any]], *, notify_also: Sequence[str] = ()
) -> None:
    """Append events so that id order is commit order.

    On PostgreSQL a sequence hands out ids in call order, not commit order: a
    reader resuming after id N could miss an N-1 committed later. Taking a
    transaction lock before the insert serialises the writers' commits, so
    `id > N` never skips anything. SQLite has a single writer already.

    The EVENT wake-up goes with the `notify_also` payloads of the same transaction
    in one statement: one NOTIFY round trip per transaction.
    """
    if not rows:
        notify(conn, notify_also)
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _EVENT_ORDER_LOCK})
    conn.execute(events.insert(), list(rows))
    # live streams in other processes read from EVENT
    notify(conn, [payload(Topic.EVENT), *notify_also])


def list_events(conn: Connection, *, run_id: str | None, after: int, limit: int) -> list[Event]:
    query = select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
    if run_id is not None:
        query = query.where(events.c.run_id == run_id)
    return [Event(**r._mapping) for r in conn.execute(query)]


def latest_events_of_kind(
    conn: Connection, kind: str, statuses: Sequence[str], limit: int
) -> list[Event]:
    """The newest events of `kind` (one per run) of runs now in one of `statuses`.

    Walks the events newest first by primary key, so the scan stops after `limit` runs.
    """
    query = (
        select(events)
        .join(runs, runs.c.id == events.c.run_id)
        .where(events.c.kind == kind, runs.c.status.in_(list(statuses)))
        .order_by(events.c.id.desc())
        .limit(limit * 4)
    )
    seen: dict[str, Event] = {}
    for row in conn.execute(query):
        seen.setdefault(row.run_id, Event(**row._mapping))
    return list(seen.values())[:limit]


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


def insert_artifacts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store artifacts; a name the run already has keeps its first content (a replay)."""
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(artifacts).on_conflict_do_nothing(index_elements=["run_id", "name"]), list(rows)
    )


def artifact_id(conn: Connection, run_id: str, name: str) -> str | None:
    """The id of the run's artifact of that name."""
    query = select(artifacts.c.id).where(artifacts.c.run_id == run_id, artifacts.c.name == name)
    return conn.execute(query).scalar_one_or_none()


def list_artifacts(conn: Connection, run_id: str) -> list[Artifact]:
    query = select(artifacts).where(artifacts.c.run_id == run_id).order_by(artifacts.c.id)
    return [Artifact(**r._mapping) for r in conn.execute(query)]


def find_artifact(conn: Connection, artifact_id: str) -> Artifact | None:
    row = conn.execute(select(artifacts).where(artifacts.c.id == artifact_id)).first()
    return Artifact(**row._mapping) if row else None


def insert_signal(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(signals.insert(), [row])


def nth_signal(conn: Connection, run_id: str, name: str, n: int) -> dict[str, Any] | None:
    """The n-th (from 0) signal of this name sent to the run, or None if not yet sent."""
    row = conn.execute(
        select(signals.c.payload, signals.c.created_at)
        .where(signals.c.run_id == run_id, signals.c.name == name)
        .order_by(signals.c.id)
        .offset(n)
        .limit(1)
    ).first()
    return {"payload": row.payload, "created_at": row.created_at} if row else None


def insert_usage(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(usage.insert(), list(rows))
