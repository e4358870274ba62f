"""The shared state of stacks: todos, messages, the broadcast channel, artifacts, memory,
the detection cache and cycles.

Rows an agent's execution creates carry ids (or keys) derived from (stack, cycle, role,
n) and are inserted with ON CONFLICT DO NOTHING, and every change is guarded by the
state it starts from: a cycle replayed after a crash writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from agentdeck.domain.stack_rows import CycleRow, MessageRow, StackArtifactRow, TodoRow
from agentdeck.domain.stacks import MessageKind, Snapshot, TodoPriority, TodoStatus, Work
from agentdeck.store.schema import events, steps
from agentdeck.store.stack_tables import (
    stack_agents,
    stack_artifacts,
    stack_cycles,
    stack_messages,
    stack_todos,
    stacks,
)


def _insert_new(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows whose key is new; returns how many were."""
    if not rows:
        return 0
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return conn.execute(dialect_insert(table).on_conflict_do_nothing(), list(rows)).rowcount


# --- what work detection reads ------------------------------------------------------


def snapshot(conn: Connection, stack_id: str) -> Snapshot:
    stack = conn.execute(
        select(stacks.c.idea, stacks.c.broadcast_cursor).where(stacks.c.id == stack_id)
    ).one()
    todo = stack_todos.c
    counts: dict[tuple[str, str, bool], int] = {
        (status, priority, reviewed): n
        for status, priority, reviewed, n in conn.execute(
            select(todo.status, todo.priority, todo.reviewed, func.count())
            .where(todo.stack_id == stack_id)
            .group_by(todo.status, todo.priority, todo.reviewed)
        )
    }

    def count(status: TodoStatus, priority: str | None = None, reviewed: bool | None = None) -> int:
        return sum(
            n
            for (s, p, r), n in counts.items()
            if s == status
            and (priority is None or p == priority)
            and (reviewed is None or bool(r) == reviewed)
        )

    msg = stack_messages.c
    unread: dict[str | None, int] = dict(
        conn.execute(
            select(msg.to_role, func.count())
            .where(msg.stack_id == stack_id, msg.read_at.is_(None))
            .group_by(msg.to_role)
        ).all()
    )
    broadcasts = conn.execute(
        select(func.count()).where(
            msg.kind == MessageKind.BROADCAST.value,
            msg.id > stack.broadcast_cursor,
            msg.from_stack_id != stack_id,
        )
    ).scalar_one()
    recommendations = conn.execute(
        select(func.count()).where(
            msg.stack_id == stack_id,
            msg.kind == MessageKind.RECOMMENDATION.value,
            msg.read_at.is_(None),
        )
    ).scalar_one()
    artifacts = conn.execute(
        select(func.count()).where(
            stack_artifacts.c.stack_id == stack_id, stack_artifacts.c.reviewed.is_(False)
        )
    ).scalar_one()
    last = dict(
        conn.execute(
            select(stack_agents.c.role, stack_agents.c.last_ran_at).where(
                stack_agents.c.stack_id == stack_id
            )
        ).all()
    )
    return Snapshot(
        idea=stack.idea,
        pending=count(TodoStatus.PENDING),
        pending_high=count(TodoStatus.PENDING, TodoPriority.HIGH)
        + count(TodoStatus.IN_PROGRESS, TodoPriority.HIGH),
        pending_medium=count(TodoStatus.PENDING, TodoPriority.MEDIUM)
        + count(TodoStatus.IN_PROGRESS, TodoPriority.MEDIUM),
        in_progress=count(TodoStatus.IN_PROGRESS),
        done_unreviewed=count(TodoStatus.DONE, reviewed=False),
        artifacts_unreviewed=artifacts,
        recommendations_unread=recommendations,
        messages_unread=unread.get("communicator", 0) + broadcasts,
        last_ran_at=last,
    )


def record_detection(conn: Connection, now: datetime, stack_id: str, works: list[Work]) -> None:
    """The detection cache: each role's priority and reason, and when they were found."""
    for work in works:
        conn.execute(
            update(stack_agents)
            .where(stack_agents.c.stack_id == stack_id, stack_agents.c.role == work.role)
            .values(priority=work.priority, reason=work.reason, detected_at=now)
        )


def set_agent(conn: Connection, stack_id: str, role: str, **values: Any) -> None:
    conn.execute(
        update(stack_agents)
        .where(stack_agents.c.stack_id == stack_id, stack_agents.c.role == role)
        .values(**values)
    )


def set_memory(conn: Connection, stack_id: str, role: str, memory: str, summarised: bool) -> None:
    values: dict[str, Any] = {"memory": memory}
    if summarised:
        values["summaries"] = stack_agents.c.summaries + 1
    set_agent(conn, stack_id, role, **values)


def mark_running(conn: Connection, stack_id: str, roles: Sequence[str]) -> None:
    """The roles with work in the cycle starting: the stack page shows them busy."""
    if roles:
        conn.execute(
            update(stack_agents)
            .where(stack_agents.c.stack_id == stack_id, stack_agents.c.role.in_(list(roles)))
            .values(status="running")
        )


def settle_agents(conn: Connection, stack_id: str) -> None:
    """At a cycle's end no agent of the stack is executing (held or skipped ones too)."""
    conn.execute(
        update(stack_agents)
        .where(stack_agents.c.stack_id == stack_id, stack_agents.c.status == "running")
        .values(status="idle")
    )


def count_executions(
    conn: Connection, stack_id: str, role: str, now: datetime, error: str | None
) -> None:
    """An execution of the role finished (with `error` if it failed)."""
    a = stack_agents.c
    values: dict[str, Any] = {
        "status": "failed" if error else "idle",
        "last_ran_at": now,
        "executions": a.executions + 1,
        "last_error": error,
    }
    if error:
        values["failures"] = a.failures + 1
    set_agent(conn, stack_id, role, **values)


# --- todos ------------------------------------------------------------------------------


def _todo(row: Row[Any]) -> TodoRow:
    return TodoRow(**row._mapping)


def list_todos(
    conn: Connection, stack_id: str, *, status: str | None = None, limit: int = 200
) -> list[TodoRow]:
    query = select(stack_todos).where(stack_todos.c.stack_id == stack_id)
    if status is not None:
        query = query.where(stack_todos.c.status == status)
    query = query.order_by(stack_todos.c.created_at, stack_todos.c.id).limit(limit)
    return [_todo(r) for r in conn.execute(query)]


def add_todos(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    return _insert_new(conn, stack_todos, rows)


def reprioritise(conn: Connection, stack_id: str, changes: dict[str, str], now: datetime) -> None:
    for todo_id, priority in changes.items():
        conn.execute(
            update(stack_todos)
            .where(
                stack_todos.c.id == todo_id,
                stack_todos.c.stack_id == stack_id,
                stack_todos.c.status == TodoStatus.PENDING.value,
            )
            .values(priority=priority, updated_at=now)
        )


_RANK = {TodoPriority.HIGH.value: 0, TodoPriority.MEDIUM.value: 1, TodoPriority.LOW.value: 2}


def held_todo(conn: Connection, stack_id: str, role: str) -> TodoRow | None:
    """The todo in progress the role holds (taken at the cycle's start, or before a crash)."""
    t = stack_todos.c
    held = conn.execute(
        select(stack_todos)
        .where(
            t.stack_id == stack_id, t.status == TodoStatus.IN_PROGRESS.value, t.owner_role == role
        )
        .order_by(t.updated_at, t.id)
        .limit(1)
    ).first()
    return _todo(held) if held is not None else None


def take_todo(conn: Connection, stack_id: str, role: str, now: datetime) -> TodoRow | None:
    """The todo the role works on: the one it already holds (a crash left it in progress),
    else the highest-priority, oldest pending one, moved to in progress."""
    t = stack_todos.c
    held = held_todo(conn, stack_id, role)
    if held is not None:
        return held
    pending = list_todos(conn, stack_id, status=TodoStatus.PENDING.value, limit=1000)
    for todo in sorted(pending, key=lambda x: (_RANK.get(x.priority, 3), x.created_at, x.id)):
        moved = conn.execute(
            update(stack_todos)
            .where(t.id == todo.id, t.status == TodoStatus.PENDING.value)
            .values(status=TodoStatus.IN_PROGRESS.value, owner_role=role, updated_at=now)
        )
        if moved.rowcount:
            found = conn.execute(select(stack_todos).where(t.id == todo.id)).one()
            return _todo(found)
    return None


def finish_todo(
    conn: Connection, todo_id: str, cycle: int, artifact_id: str | None, now: datetime
) -> bool:
    moved = conn.execute(
        update(stack_todos)
        .where(stack_todos.c.id == todo_id, stack_todos.c.status == TodoStatus.IN_PROGRESS.value)
        .values(
            status=TodoStatus.DONE.value, done_cycle=cycle, artifact_id=artifact_id, updated_at=now
        )
    )
    return bool(moved.rowcount)


def mark_reviewed(
    conn: Connection, stack_id: str, todo_ids: Sequence[str], artifact_ids: Sequence[str]
) -> None:
    if todo_ids:
        conn.execute(
            update(stack_todos)
            .where(stack_todos.c.stack_id == stack_id, stack_todos.c.id.in_(list(todo_ids)))
            .values(reviewed=True)
        )
    if artifact_ids:
        conn.execute(
            update(stack_artifacts)
            .where(
                stack_artifacts.c.stack_id == stack_id,
                stack_artifacts.c.id.in_(list(artifact_ids)),
            )
            .values(reviewed=True)
        )


# --- messages and the broadcast channel -----------------------------------------------------


def _message(row: Row[Any]) -> MessageRow:
    values = dict(row._mapping)
    values.pop("key", None)
    return MessageRow(**values)


def add_messages(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    return _insert_new(conn, stack_messages, rows)


def list_messages(
    conn: Connection,
    stack_id: str,
    *,
    to_role: str | None = None,
    unread: bool = False,
    broadcasts: bool = False,
    limit: int = 200,
) -> list[MessageRow]:
    """The stack's messages (to one role, only unread ones); with `broadcasts`, the
    broadcast channel of every stack too. Newest last."""
    m = stack_messages.c
    own = m.stack_id == stack_id
    if to_role is not None:
        own = and_(own, m.to_role == to_role)
    if unread:
        own = and_(own, m.read_at.is_(None))
    where = or_(own, m.kind == MessageKind.BROADCAST.value) if broadcasts else own
    query = select(stack_messages).where(where).order_by(m.id.desc()).limit(limit)
    return [_message(r) for r in reversed(list(conn.execute(query)))]


def unread_broadcasts(conn: Connection, stack_id: str, limit: int = 20) -> list[MessageRow]:
    """Broadcasts of other stacks past this stack's cursor, oldest first."""
    m = stack_messages.c
    cursor = conn.execute(
        select(stacks.c.broadcast_cursor).where(stacks.c.id == stack_id)
    ).scalar_one()
    query = (
        select(stack_messages)
        .where(m.kind == MessageKind.BROADCAST.value, m.id > cursor, m.from_stack_id != stack_id)
        .order_by(m.id)
        .limit(limit)
    )
    return [_message(r) for r in conn.execute(query)]


def mark_read(
    conn: Connection,
    stack_id: str,
    message_ids: Sequence[int],
    broadcast_cursor: int,
    now: datetime,
) -> None:
    if message_ids:
        conn.execute(
            update(stack_messages)
            .where(
                stack_messages.c.stack_id == stack_id,
                stack_messages.c.id.in_(list(message_ids)),
                stack_messages.c.read_at.is_(None),
            )
            .values(read_at=now)
        )
    if broadcast_cursor:
        conn.execute(
            update(stacks)
            .where(stacks.c.id == stack_id, stacks.c.broadcast_cursor < broadcast_cursor)
            .values(broadcast_cursor=broadcast_cursor)
        )


# --- artifacts --------------------------------------------------------------------------------


def add_artifacts(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    return _insert_new(conn, stack_artifacts, rows)


def list_artifacts(
    conn: Connection, stack_id: str, *, unreviewed: bool = False, limit: int = 200
) -> list[StackArtifactRow]:
    a = stack_artifacts.c
    query = select(stack_artifacts).where(a.stack_id == stack_id)
    if unreviewed:
        query = query.where(a.reviewed.is_(False))
    query = query.order_by(a.created_at, a.id).limit(limit)
    return [StackArtifactRow(**r._mapping) for r in conn.execute(query)]


def find_artifact(conn: Connection, stack_id: str, artifact_id: str) -> StackArtifactRow | None:
    row = conn.execute(
        select(stack_artifacts).where(
            stack_artifacts.c.stack_id == stack_id, stack_artifacts.c.id == artifact_id
        )
    ).first()
    return StackArtifactRow(**row._mapping) if row else None


# --- cycles -------------------------------------------------------------------------------------


def insert_cycle(conn: Connection, row: dict[str, Any]) -> bool:
    """Record a cycle; False if this cycle was already recorded (a replay)."""
    return _insert_new(conn, stack_cycles, [row]) == 1


def list_cycles(
    conn: Connection, stack_id: str, *, before: int | None = None, limit: int = 50
) -> list[CycleRow]:
    """Newest first; `before` pages by cycle number."""
    c = stack_cycles.c
    query = select(stack_cycles).where(c.stack_id == stack_id)
    if before is not None:
        query = query.where(c.number < before)
    query = query.order_by(c.number.desc()).limit(limit)
    return [CycleRow(**r._mapping) for r in conn.execute(query)]


def add_cost(conn: Connection, stack_id: str, cost: Decimal) -> None:
    if cost:
        conn.execute(
            update(stacks).where(stacks.c.id == stack_id).values(cost_usd=stacks.c.cost_usd + cost)
        )


def list_broadcasts(conn: Connection, limit: int = 50) -> list[MessageRow]:
    m = stack_messages.c
    query = (
        select(stack_messages)
        .where(m.kind == MessageKind.BROADCAST.value)
        .order_by(m.id.desc())
        .limit(limit)
    )
    return [_message(r) for r in reversed(list(conn.execute(query)))]


def find_message(conn: Connection, key: str) -> MessageRow:
    return _message(conn.execute(select(stack_messages).where(stack_messages.c.key == key)).one())


def find_cycle(conn: Connection, stack_id: str, number: int) -> CycleRow | None:
    row = conn.execute(
        select(stack_cycles).where(
            stack_cycles.c.stack_id == stack_id, stack_cycles.c.number == number
        )
    ).first()
    return CycleRow(**row._mapping) if row else None


def forget_steps(conn: Connection, run_id: str, cycle_key: str) -> None:
    """Drop a stack run's steps of earlier cycles: its journal stays one cycle long.

    The steps of cycle `cycle_key` ("c7") are kept: the workflow's own (`c7:...`) and the
    agent runner's model and tool calls (`llm:c7:...`, `tool:c7:...`), or a replay of the
    cycle after a crash would pay for its calls again.
    """
    kept = [f"{cycle_key}:%", f"llm:{cycle_key}:%", f"tool:{cycle_key}:%"]
    conn.execute(
        delete(steps).where(steps.c.run_id == run_id, *(steps.c.key.not_like(k) for k in kept))
    )


def trim_events(conn: Connection, run_id: str, keep: int) -> None:
    """Keep a stack run's newest `keep` events: its history is its cycles, not its log."""
    oldest_kept = conn.execute(
        select(events.c.id)
        .where(events.c.run_id == run_id)
        .order_by(events.c.id.desc())
        .offset(keep - 1)
        .limit(1)
    ).scalar()
    if oldest_kept is not None:
        conn.execute(delete(events).where(events.c.run_id == run_id, events.c.id < oldest_kept))
