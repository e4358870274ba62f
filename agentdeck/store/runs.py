"""Queries on runs: insert, find, list, claim, heartbeat, rescue and guarded transitions.

Every query takes the connection of the caller's transaction and the `now` to
use, so several compose into one commit and tests control time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Update,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from agentdeck.domain.runs import Claim, Run, RunFilter, RunStatus, WaitKind
from agentdeck.store.schema import runs
from agentdeck.store.types import UTCDateTime

_UTC = UTCDateTime()

_FIELDS = tuple(c.name for c in runs.c)


def _status_is(status: RunStatus) -> ColumnElement[bool]:
    """`status = '<literal>'`: only a literal lets the planner use a partial index."""
    return runs.c.status == literal_column(f"'{status.value}'")


def _run(row: Row[Any]) -> Run:
    return Run(**row._mapping)


_UNSET_ON_INSERT = {
    "result": None,
    "error": None,
    "wait_kind": None,
    "waiting_on": None,
    "claimed_by": None,
    "claimed_at": None,
    "lease_epoch": 0,
    "lease_expires_at": None,
    "heartbeat_at": None,
    "cancel_requested_at": None,
    "pause_requested_at": None,
    "retry_of": None,
    "started_at": None,
    "finished_at": None,
    "stage": None,
    "attempt": None,
    "score": None,
    "verdict": None,
    "progress": None,
    "agents": None,
    "cost_usd": Decimal(0),
    "cost_unknown": False,
    "input_tokens": 0,
    "output_tokens": 0,
    "cached_tokens": 0,
}


def new_run(row: dict[str, Any]) -> Run:
    """The run a row passed to `insert_runs` becomes, without reading it back."""
    return Run(**{**_UNSET_ON_INSERT, **row})


def insert_runs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(runs.insert(), list(rows))


def find_run(conn: Connection, run_id: str) -> Run | None:
    row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
    return _run(row) if row else None


def find_runs(conn: Connection, run_ids: Iterable[str]) -> list[Run]:
    return [_run(r) for r in conn.execute(select(runs).where(runs.c.id.in_(list(run_ids))))]


def find_by_idempotency_keys(conn: Connection, keys: Sequence[str]) -> dict[str, Run]:
    if not keys:
        return {}
    rows = conn.execute(select(runs).where(runs.c.idempotency_key.in_(keys)))
    return {r.idempotency_key: _run(r) for r in rows}


def list_runs(
    conn: Connection, where: RunFilter, *, before_id: str | None, limit: int
) -> list[Run]:
    """Newest first; ids sort by creation time, so `before_id` is the cursor."""
    query = select(runs).order_by(runs.c.id.desc()).limit(limit)
    if where.statuses:
        query = query.where(runs.c.status.in_(where.statuses))
    if where.workflow:
        query = query.where(runs.c.workflow == where.workflow)
    if where.retry_of:
        query = query.where(runs.c.retry_of == where.retry_of)
    if where.agent:
        query = query.where(_uses_agent(conn.dialect.name, where.agent))
    if where.text:
        needle = where.text.lower()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (runs.c.id, runs.c.workflow, runs.c.error)
                )
            )
        )
    if before_id:
        query = query.where(runs.c.id < before_id)
    return [_run(r) for r in conn.execute(query)]


def _uses_agent(dialect: str, agent: str) -> ColumnElement[bool]:
    """The run's `agents` JSON list holds `agent` (JSON containment differs per dialect)."""
    if dialect == "postgresql":
        return type_coerce(runs.c.agents, JSONB).contains([agent])
    return text(
        "EXISTS (SELECT 1 FROM json_each(runs.agents) WHERE json_each.value = :agent)"
    ).bindparams(agent=agent)  # type: ignore[return-value]


def count_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(runs.c.status, func.count()).group_by(runs.c.status))
    return {status: count for status, count in rows}


CLAIM_COLUMNS = (
    runs.c.id,
    runs.c.workflow,
    runs.c.inputs,
    runs.c.priority,
    runs.c.lease_epoch,
    runs.c.pause_requested_at,
    runs.c.concurrency_key,
)


@functools.cache
def _claim_statement(dialect: str) -> Update:
    """Built once per dialect: constructing the statement costs more than running it."""
    now = bindparam("now", type_=runs.c.due_at.type)
    candidates = (
        select(runs.c.id)
        # keyed runs are claimed by store/concurrency.py, under their key's limit
        .where(
            _status_is(RunStatus.QUEUED),
            runs.c.due_at <= now,
            runs.c.concurrency_key.is_(None),
        )
        .order_by(runs.c.priority.desc(), runs.c.due_at, runs.c.created_at, runs.c.id)
        .limit(bindparam("limit"))
    )
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(runs)
        .where(runs.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=RunStatus.RUNNING,
            claimed_by=bindparam("worker"),
            claimed_at=now,
            lease_epoch=runs.c.lease_epoch + 1,
            lease_expires_at=bindparam("expires", type_=runs.c.due_at.type),
            heartbeat_at=now,
            started_at=func.coalesce(runs.c.started_at, now),
            wait_kind=None,
            waiting_on=None,
            updated_at=now,
        )
        .returning(*CLAIM_COLUMNS)
    )


def claim(
    conn: Connection,
    *,
    worker_id: str,
    limit: int,
    now: datetime,
    lease_expires_at: datetime,
) -> list[Claim]:
    """Take up to `limit` due queued runs in priority, due time, age order.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` lets claimers pass each other.
    SQLite: the caller's `BEGIN IMMEDIATE` makes this the only writer, so the
    select-then-update cannot race (SQLAlchemy drops FOR UPDATE there anyway).
    """
    params = {"worker": worker_id, "limit": limit, "now": now, "expires": lease_expires_at}
    stmt = _claim_statement(conn.dialect.name)
    claimed = [Claim(*r) for r in conn.execute(stmt, params)]
    claimed.sort(key=lambda r: -r.priority)  # RETURNING keeps no order
    return claimed


def promote_due_timers(conn: Connection, now: datetime) -> int:
    """Queue runs whose durable sleep is over."""
    result = conn.execute(
        update(runs)
        .where(
            _status_is(RunStatus.WAITING),
            runs.c.wait_kind == WaitKind.TIMER,
            runs.c.due_at <= now,
        )
        .values(status=RunStatus.QUEUED, wait_kind=None, waiting_on=None, updated_at=now)
    )
    return result.rowcount


def next_due_at(conn: Connection, now: datetime) -> datetime | None:
    """The earliest future time at which a queued or sleeping run becomes due."""
    value = conn.execute(
        select(func.min(runs.c.due_at)).where(
            runs.c.due_at > now,
            or_(
                _status_is(RunStatus.QUEUED),
                and_(_status_is(RunStatus.WAITING), runs.c.wait_kind == WaitKind.TIMER),
            ),
        )
    ).scalar()
    return _UTC.process_result_value(value, conn.dialect) if value else None


@dataclass(frozen=True, slots=True)
class Lease:
    """A held run's lease and the requests a person made of it."""

    run_id: str
    status: str
    claimed_by: str | None
    lease_epoch: int
    cancel_requested_at: datetime | None
    pause_requested_at: datetime | None


_LEASE_COLUMNS = (
    runs.c.id,
    runs.c.status,
    runs.c.claimed_by,
    runs.c.lease_epoch,
    runs.c.cancel_requested_at,
    runs.c.pause_requested_at,
)


def heartbeat(
    conn: Connection,
    *,
    worker_id: str,
    run_ids: Sequence[str],
    now: datetime,
    lease_expires_at: datetime,
) -> list[Lease]:
    """Renew, in one statement, the leases of the runs this worker is executing.

    Only the runs it names: a row claimed by the worker that it no longer
    executes must expire, so that the rescuer gives it to someone else.
    """
    if not run_ids:
        return []
    rows = conn.execute(
        update(runs)
        .where(
            runs.c.id.in_(list(run_ids)),
            runs.c.claimed_by == worker_id,
            runs.c.status == RunStatus.RUNNING,
        )
        .values(heartbeat_at=now, lease_expires_at=lease_expires_at)
        .returning(*_LEASE_COLUMNS)
    )
    return [Lease(*r) for r in rows]


def lock_leases(conn: Connection, run_ids: Iterable[str]) -> dict[str, Lease]:
    """Read (and on PostgreSQL row-lock until commit) the leases of these runs."""
    query = select(*_LEASE_COLUMNS).where(runs.c.id.in_(list(run_ids)))
    if conn.dialect.name == "postgresql":
        # FOR NO KEY UPDATE: the key-share lock an insert referencing the run takes (an
        # event, a signal, a task) never waits on it nor holds it up, so the writer and
        # those inserts cannot deadlock; two lockers of the run still exclude each other.
        query = query.with_for_update(key_share=True)
    return {r.id: Lease(*r) for r in conn.execute(query)}


def expired(conn: Connection, now: datetime, limit: int = 500) -> list[Lease]:
    """Running runs whose lease ran out, locked for the rescuer."""
    query = (
        select(*_LEASE_COLUMNS)
        .where(_status_is(RunStatus.RUNNING), runs.c.lease_expires_at < now)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, key_share=True)
    return [Lease(*r) for r in conn.execute(query)]


def held_leases(conn: Connection, worker_ids: Sequence[str]) -> list[Lease]:
    """Running runs these workers hold, locked for the rescuer whatever their lease says."""
    query = select(*_LEASE_COLUMNS).where(
        _status_is(RunStatus.RUNNING), runs.c.claimed_by.in_(list(worker_ids))
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, key_share=True)
    return [Lease(*r) for r in conn.execute(query)]


def update_held(
    conn: Connection, run_id: str, worker_id: str, epoch: int, values: dict[str, Any]
) -> bool:
    """Update a running run only while (worker, epoch) still hold its lease."""
    result = conn.execute(
        update(runs)
        .where(
            runs.c.id == run_id,
            runs.c.status == RunStatus.RUNNING,
            runs.c.claimed_by == worker_id,
            runs.c.lease_epoch == epoch,
        )
        .values(**values)
    )
    return result.rowcount == 1


def update_held_many(
    conn: Connection, worker_id: str, items: Sequence[tuple[str, int, dict[str, Any]]]
) -> None:
    """`update_held` for many runs: one executemany per set of columns written."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for run_id, epoch, values in items:
        row = {"b_id": run_id, "b_epoch": epoch, **{f"v_{k}": v for k, v in values.items()}}
        groups.setdefault(tuple(sorted(values)), []).append(row)
    for columns, rows in groups.items():
        stmt = (
            update(runs)
            .where(
                runs.c.id == bindparam("b_id"),
                runs.c.status == RunStatus.RUNNING,
                runs.c.claimed_by == worker_id,
                runs.c.lease_epoch == bindparam("b_epoch"),
            )
            .values({c: bindparam(f"v_{c}", type_=runs.c[c].type) for c in columns})
        )
        conn.execute(stmt, rows)


def add_usage_totals(conn: Connection, totals: Sequence[dict[str, Any]]) -> None:
    """Add usage to runs' totals: keys run_id, cost_usd, cost_unknown, *_tokens."""
    if not totals:
        return
    stmt = (
        update(runs)
        .where(runs.c.id == bindparam("b_id"))
        .values(
            cost_usd=runs.c.cost_usd + bindparam("b_cost", type_=runs.c.cost_usd.type),
            cost_unknown=runs.c.cost_unknown
            | bindparam("b_unknown", type_=runs.c.cost_unknown.type),
            input_tokens=runs.c.input_tokens + bindparam("b_in"),
            output_tokens=runs.c.output_tokens + bindparam("b_out"),
            cached_tokens=runs.c.cached_tokens + bindparam("b_cached"),
        )
    )
    conn.execute(
        stmt,
        [
            {
                "b_id": t["run_id"],
                "b_cost": t["cost_usd"],
                "b_unknown": t["cost_unknown"],
                "b_in": t["input_tokens"],
                "b_out": t["output_tokens"],
                "b_cached": t["cached_tokens"],
            }
            for t in totals
        ],
    )


def update_guarded(
    conn: Connection, run_id: str, sources: Iterable[RunStatus], values: dict[str, Any]
) -> bool:
    """Update a run only if it is in one of `sources`; False when it was not."""
    result = conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status.in_([s.value for s in sources]))
        .values(**values)
    )
    return result.rowcount == 1


def release_worker_runs(
    conn: Connection, worker_id: str, run_ids: Sequence[str], now: datetime
) -> list[str]:
    """Give runs back to the queue; the lease epoch moves on when they are claimed again."""
    rows = conn.execute(
        update(runs)
        .where(
            runs.c.id.in_(list(run_ids)),
            runs.c.claimed_by == worker_id,
            runs.c.status == RunStatus.RUNNING,
        )
        .values(
            status=RunStatus.QUEUED,
            claimed_by=None,
            lease_expires_at=None,
            updated_at=now,
        )
        .returning(runs.c.id)
    )
    return [r.id for r in rows]


def release_held(
    conn: Connection, worker_id: str, runs_at: dict[str, int], now: datetime
) -> list[str]:
    """Queue again runs that (worker, epoch) still hold; answers the ids released."""
    released = []
    for run_id, epoch in runs_at.items():
        values = {"status": RunStatus.QUEUED, "claimed_by": None, "lease_expires_at": None}
        if update_held(
            conn, run_id, worker_id, epoch, {**values, "due_at": now, "updated_at": now}
        ):
            released.append(run_id)
    return released


def held_by(conn: Connection, worker_ids: Sequence[str]) -> dict[str, int]:
    """How many running runs each worker holds."""
    rows = conn.execute(
        select(runs.c.claimed_by, func.count())
        .where(runs.c.status == RunStatus.RUNNING, runs.c.claimed_by.in_(worker_ids))
        .group_by(runs.c.claimed_by)
    )
    return {w: n for w, n in rows}
