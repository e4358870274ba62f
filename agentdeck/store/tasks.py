"""Queries on the tasks of plan runs: create, guarded moves, claim, leases, sweeps.

Every change is a guarded UPDATE naming the states it may start from, so two writers
(the workflow, an external agent, a sweeper) racing for one task cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from agentdeck.domain.runs import RunStatus
from agentdeck.domain.tasks import LEASED, Executor, Move, TaskRow, TaskStatus, TaskWrite
from agentdeck.store.schema import runs, signals, steps, tasks

# a run in one of these states may hand its tasks out (not paused, not finished)
ACTIVE_RUN = (RunStatus.QUEUED.value, RunStatus.RUNNING.value, RunStatus.WAITING.value)
OPEN = [s.value for s in TaskStatus if not s.finished]  # failed tasks stay failed


def _task(row: Row[Any]) -> TaskRow:
    return TaskRow(**row._mapping)


def _status_is(status: TaskStatus) -> ColumnElement[bool]:
    """`status = '<literal>'`: only a literal lets the planner use a partial index."""
    return tasks.c.status == literal_column(f"'{status.value}'")


def _leased() -> ColumnElement[bool]:
    """The text of ix_tasks_leased's WHERE, which SQLite needs to match literally."""
    return tasks.c.status.in_([literal_column(f"'{s}'") for s in ("assigned", "running")])


def insert_tasks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Create tasks; one already there (a replayed run creating them again) is left alone."""
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(tasks).on_conflict_do_nothing(), list(rows))


def apply_writes(conn: Connection, writes: Sequence[TaskWrite], now: datetime) -> list[bool]:
    """Apply the workflow's changes in order; returns which of them landed.

    A change lands where the row is in one of its move's sources, at `from_attempt`, with
    a lower revision. The caller holds the lock of every run concerned, and every writer
    of a run's tasks takes it first, so the rows cannot change meanwhile: the guards are
    checked here on one read, and each row changed gets one UPDATE with its final values
    (one executemany per set of columns, not one statement per change).
    """
    if not writes:
        return []
    ids = list(dict.fromkeys(w.task_id for w in writes))
    query = select(tasks.c.id, tasks.c.status, tasks.c.attempt, tasks.c.revision)
    state = {
        r.id: [r.status, r.attempt, r.revision]
        for r in conn.execute(query.where(tasks.c.id.in_(ids)))
    }
    before = {task_id: row[2] for task_id, row in state.items()}
    landed: list[bool] = []
    final: dict[str, dict[str, Any]] = {}
    for write in writes:
        row = state.get(write.task_id)
        ok = (
            row is not None
            and row[0] in write.move.sources
            and row[1] == write.from_attempt
            and row[2] < write.revision
        )
        landed.append(ok)
        if ok:
            assert row is not None
            row[:] = [write.move.target.value, write.attempt, write.revision]
            values = final.setdefault(write.task_id, {})
            values.update(write.values)
            values.update(status=row[0], attempt=row[1], revision=row[2], updated_at=now)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for task_id, values in final.items():
        bound = {"b_id": task_id, "b_revision": before[task_id]}
        bound.update({f"v_{k}": v for k, v in values.items()})
        groups.setdefault(tuple(sorted(values)), []).append(bound)
    for columns, rows in groups.items():
        stmt = (
            update(tasks)
            .where(tasks.c.id == bindparam("b_id"), tasks.c.revision == bindparam("b_revision"))
            .values({c: bindparam(f"v_{c}", type_=tasks.c[c].type) for c in columns})
        )
        conn.execute(stmt, rows)
    return landed


def move_task(
    conn: Connection,
    task_id: str,
    how: Move,
    values: dict[str, Any],
    *,
    lease_id: str | None = None,
) -> bool:
    """Move a task if it is in one of the move's sources (and, given, still under `lease_id`)."""
    query = update(tasks).where(
        tasks.c.id == task_id, tasks.c.status.in_([s.value for s in how.sources])
    )
    if lease_id is not None:
        query = query.where(tasks.c.lease_id == lease_id)
    result = conn.execute(query.values(status=how.target.value, **values))
    return result.rowcount == 1


def update_leased(conn: Connection, task_id: str, lease_id: str, values: dict[str, Any]) -> bool:
    """Change a task still held under `lease_id` (a heartbeat, a progress report)."""
    result = conn.execute(
        update(tasks)
        .where(
            tasks.c.id == task_id,
            tasks.c.lease_id == lease_id,
            tasks.c.status.in_([s.value for s in LEASED]),
        )
        .values(**values)
    )
    return result.rowcount == 1


def find_task(conn: Connection, task_id: str, *, lock: bool = False) -> TaskRow | None:
    query = select(tasks).where(tasks.c.id == task_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _task(row) if row else None


def list_tasks(conn: Connection, run_id: str) -> list[TaskRow]:
    """A run's tasks in plan order."""
    query = select(tasks).where(tasks.c.run_id == run_id).order_by(tasks.c.position)
    return [_task(r) for r in conn.execute(query)]


def offered(
    conn: Connection, *, agent_id: str, capabilities: Sequence[str], now: datetime, limit: int
) -> list[tuple[str, str]]:
    """(task id, run id) of the longest-offered tasks this agent can do, of runs that are not
    paused or over. Read without locks: `take` decides, under the run's lock."""
    query = (
        select(tasks.c.id, tasks.c.run_id)
        .join(runs, runs.c.id == tasks.c.run_id)
        .where(
            _status_is(TaskStatus.READY),
            tasks.c.executor == Executor.EXTERNAL.value,
            tasks.c.available_at <= now,
            tasks.c.role.in_(list(capabilities)),
            or_(tasks.c.target_agent.is_(None), tasks.c.target_agent == agent_id),
            runs.c.status.in_(ACTIVE_RUN),
        )
        .order_by(tasks.c.available_at, tasks.c.id)
        .limit(limit)
    )
    return [(r.id, r.run_id) for r in conn.execute(query)]


def take(
    conn: Connection,
    task_id: str,
    *,
    agent_id: str,
    now: datetime,
    lease_id: str,
    lease_expires_at: datetime,
) -> TaskRow | None:
    """Give an offered task to an agent under a new lease; None if it is no longer offered.

    The caller holds its run's lock (as every writer of a run's rows takes the run's lock
    before its tasks' and before its events', PostgreSQL cannot deadlock them).
    """
    row = conn.execute(
        update(tasks)
        .where(
            tasks.c.id == task_id,
            _status_is(TaskStatus.READY),
            tasks.c.executor == Executor.EXTERNAL.value,
            or_(tasks.c.target_agent.is_(None), tasks.c.target_agent == agent_id),
        )
        .values(
            status=TaskStatus.ASSIGNED.value,
            agent=agent_id,
            lease_id=lease_id,
            lease_expires_at=lease_expires_at,
            started_at=func.coalesce(tasks.c.started_at, now),
            progress=None,
            updated_at=now,
        )
        .returning(*tasks.c)
    ).first()
    return _task(row) if row else None


def has_offers(conn: Connection, capabilities: Sequence[str], now: datetime) -> bool:
    """Whether some task these capabilities could claim is on offer now."""
    query = (
        select(tasks.c.id)
        .where(
            _status_is(TaskStatus.READY),
            tasks.c.executor == Executor.EXTERNAL.value,
            tasks.c.available_at <= now,
            tasks.c.role.in_(list(capabilities)),
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def expired_leases(conn: Connection, now: datetime, limit: int = 200) -> list[TaskRow]:
    query = select(tasks).where(_leased(), tasks.c.lease_expires_at < now).limit(limit)
    return [_task(r) for r in conn.execute(query)]


def held_by(conn: Connection, agent_ids: Iterable[str]) -> list[TaskRow]:
    """Tasks these external agents hold under a lease."""
    query = select(tasks).where(_leased(), tasks.c.agent.in_(list(agent_ids)))
    return [_task(r) for r in conn.execute(query)]


def count_held(conn: Connection) -> dict[str, int]:
    """Leased tasks per external agent."""
    query = select(tasks.c.agent, func.count()).where(_leased()).group_by(tasks.c.agent)
    return {agent: n for agent, n in conn.execute(query) if agent}


def overdue_offers(conn: Connection, now: datetime, limit: int = 200) -> list[TaskRow]:
    """Offered tasks nobody picked up before their deadline, of runs still going."""
    query = (
        select(tasks)
        .join(runs, runs.c.id == tasks.c.run_id)
        .where(
            _status_is(TaskStatus.READY),
            tasks.c.executor == Executor.EXTERNAL.value,
            tasks.c.pickup_deadline_at < now,
            runs.c.status.in_(ACTIVE_RUN),
        )
        .limit(limit)
    )
    return [_task(r) for r in conn.execute(query)]


def cancel_tasks_of_ended_runs(conn: Connection, now: datetime, run_id: str | None = None) -> int:
    """Cancel the open tasks of runs that were cancelled or failed (they will never run)."""
    ended = select(runs.c.id).where(
        runs.c.status.in_([RunStatus.CANCELLED.value, RunStatus.FAILED.value])
    )
    query = update(tasks).where(
        tasks.c.status.in_(OPEN),
        tasks.c.is_group.is_(False),
        tasks.c.run_id.in_(ended.scalar_subquery()),
    )
    if run_id is not None:
        query = query.where(tasks.c.run_id == run_id)
    result = conn.execute(
        query.values(
            status=TaskStatus.CANCELLED.value,
            lease_id=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
    )
    return result.rowcount


def unread_signals(conn: Connection, run_ids: Sequence[str], name: str) -> list[str]:
    """Runs with signals of this name that their journal has not consumed yet."""
    if not run_ids:
        return []
    sent: dict[str, int] = dict(
        conn.execute(
            select(signals.c.run_id, func.count())
            .where(signals.c.run_id.in_(list(run_ids)), signals.c.name == name)
            .group_by(signals.c.run_id)
        ).all()
    )
    read: dict[str, int] = dict(
        conn.execute(
            select(steps.c.run_id, func.count())
            .where(
                steps.c.run_id.in_(list(run_ids)),
                steps.c.key.startswith(f"signal:{name}:", autoescape=True),
            )
            .group_by(steps.c.run_id)
        ).all()
    )
    return [r for r in run_ids if sent.get(r, 0) > read.get(r, 0)]


def runs_waiting_at(conn: Connection, workflow: str, gate: str) -> list[str]:
    query = select(runs.c.id).where(
        and_(
            runs.c.status == RunStatus.WAITING.value,
            runs.c.workflow == workflow,
            runs.c.wait_kind == "gate",
            runs.c.waiting_on == gate,
        )
    )
    return [r.id for r in conn.execute(query)]
