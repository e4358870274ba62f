"""Queries on stacks: create, read, list, state changes one or in bulk, scale controls.

A state change of any number of stacks is one transaction: the stacks' rows change
together, the runs that execute their cycles are created (start, resume) or brought
forward so they see the change at once (pause, stop). A run ends itself when it finds
its stack no longer running (`release`), under the stack's row lock, so a resume racing
that end never leaves a running stack without a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from agentdeck.domain.runs import RunStatus
from agentdeck.domain.stack_rows import StackAgentRow, StackRow
from agentdeck.domain.stacks import MOVES, StackAction, StackState
from agentdeck.store import transitions
from agentdeck.store.schema import runs
from agentdeck.store.stack_tables import stack_agents, stack_controls, stacks

CHUNK = 2000  # ids per IN (...): well under SQLite's and PostgreSQL's parameter limits
ALIVE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)


def _stack(row: Row[Any]) -> StackRow:
    return StackRow(**row._mapping)


def _agent(row: Row[Any]) -> StackAgentRow:
    return StackAgentRow(**row._mapping)


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def insert_stack(conn: Connection, row: dict[str, Any], agents: dict[str, str]) -> StackRow:
    conn.execute(insert(stacks), [row])
    conn.execute(
        insert(stack_agents),
        [{"stack_id": row["id"], "role": role, "agent": agent} for role, agent in agents.items()],
    )
    found = find_stack(conn, row["id"])
    assert found is not None
    return found


def find_stack(conn: Connection, key: str) -> StackRow | None:
    """The stack with this id, else the one with this name."""
    row = conn.execute(select(stacks).where(stacks.c.id == key)).first()
    if row is None:
        row = conn.execute(select(stacks).where(stacks.c.name == key)).first()
    return _stack(row) if row else None


def lock_stack(conn: Connection, stack_id: str) -> StackRow | None:
    """Read the stack under a row lock (PostgreSQL; SQLite has one writer anyway)."""
    row = conn.execute(select(stacks).where(stacks.c.id == stack_id).with_for_update()).first()
    return _stack(row) if row else None


def list_stacks(
    conn: Connection, *, state: str | None = None, after: str | None = None, limit: int = 100
) -> list[StackRow]:
    """Stacks oldest first (ids sort by creation), after the stack id `after`."""
    query = select(stacks).order_by(stacks.c.id).limit(limit)
    if state is not None:
        query = query.where(stacks.c.state == state)
    if after is not None:
        query = query.where(stacks.c.id > after)
    return [_stack(r) for r in conn.execute(query)]


def count_by_state(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(stacks.c.state, func.count()).group_by(stacks.c.state))
    counts = {s.value: 0 for s in StackState}
    counts.update({state: n for state, n in rows})
    return counts


def list_agents(conn: Connection, stack_id: str) -> list[StackAgentRow]:
    query = select(stack_agents).where(stack_agents.c.stack_id == stack_id)
    return sorted(
        (_agent(r) for r in conn.execute(query)), key=lambda a: _ROLE_ORDER.get(a.role, 9)
    )


_ROLE_ORDER = {"planner": 0, "builder": 1, "communicator": 2, "reviewer": 3}


def busy_agents(conn: Connection, stack_ids: Sequence[str]) -> dict[str, int]:
    """How many agents of each stack are executing now."""
    out: dict[str, int] = {}
    for chunk in _chunks(stack_ids):
        query = (
            select(stack_agents.c.stack_id, func.count())
            .where(stack_agents.c.stack_id.in_(chunk), stack_agents.c.status == "running")
            .group_by(stack_agents.c.stack_id)
        )
        out.update({sid: n for sid, n in conn.execute(query)})
    return out


def update_stack(conn: Connection, stack_id: str, now: datetime, **values: Any) -> None:
    conn.execute(update(stacks).where(stacks.c.id == stack_id).values(updated_at=now, **values))


# --- state changes --------------------------------------------------------------------

NewRun = Callable[[StackRow], dict[str, Any]]


def change_states(
    conn: Connection,
    now: datetime,
    action: StackAction,
    stack_ids: Sequence[str] | None,
    new_run: NewRun,
    reason: str,
) -> list[StackRow]:
    """Apply `action` to the stacks named (None: every stack) that it applies to.

    Returns the stacks changed, as they are after the change. Stacks the action does not
    apply to (already paused, stopped...) are left alone: bulk buttons skip them.
    """
    sources, target = MOVES[action]
    query = select(stacks).where(stacks.c.state.in_([s.value for s in sources]))
    found: list[StackRow] = []
    if stack_ids is None:
        found = [_stack(r) for r in conn.execute(query.order_by(stacks.c.id).with_for_update())]
    else:
        for chunk in _chunks(list(stack_ids)):
            chunk_query = query.where(stacks.c.id.in_(chunk)).with_for_update()
            found += [_stack(r) for r in conn.execute(chunk_query)]
    if not found:
        return []
    ids = [s.id for s in found]
    values: dict[str, Any] = {"state": target.value, "reason": reason, "updated_at": now}
    if action == StackAction.START:
        values.update(idle_cycles=0, stalled_cycles=0)
    if target == StackState.STOPPED:
        values["next_cycle_at"] = None
    for chunk in _chunks(ids):
        conn.execute(update(stacks).where(stacks.c.id.in_(chunk)).values(**values))
    run_ids = [s.run_id for s in found if s.run_id]
    if target == StackState.RUNNING:
        alive = _alive_runs(conn, run_ids)
        _start_runs(conn, now, [s for s in found if s.run_id not in alive], new_run)
    else:
        # a run waiting for its next cycle looks now, sees the change and ends
        for chunk in _chunks(run_ids):
            conn.execute(
                update(runs)
                .where(
                    runs.c.id.in_(chunk),
                    runs.c.status == RunStatus.QUEUED,
                    runs.c.due_at > now,
                )
                .values(due_at=now, updated_at=now)
            )
    changed: list[StackRow] = []
    for chunk in _chunks(ids):
        changed += [_stack(r) for r in conn.execute(select(stacks).where(stacks.c.id.in_(chunk)))]
    return sorted(changed, key=lambda s: s.id)


def _alive_runs(conn: Connection, run_ids: Sequence[str]) -> set[str]:
    alive: set[str] = set()
    for chunk in _chunks(run_ids):
        query = select(runs.c.id).where(
            runs.c.id.in_(chunk), runs.c.status.in_([s.value for s in ALIVE])
        )
        alive |= {r for (r,) in conn.execute(query)}
    return alive


def _start_runs(conn: Connection, now: datetime, found: list[StackRow], new_run: NewRun) -> None:
    """A run for each stack that has none alive, recorded on the stack in the same transaction."""
    if not found:
        return
    rows = [new_run(s) for s in found]
    transitions.submit_tx(conn, rows)
    conn.execute(
        update(stacks)
        .where(stacks.c.id == bindparam("sid"))
        .values(run_id=bindparam("rid"), next_cycle_at=now),
        [{"sid": s.id, "rid": r["id"]} for s, r in zip(found, rows, strict=True)],
    )


def release(conn: Connection, now: datetime, stack_id: str, run_id: str) -> bool:
    """Called by a run that found its stack not running: True if it runs again (resumed
    meanwhile) and the run should go on; else the stack lets go of the run, which ends."""
    stack = lock_stack(conn, stack_id)
    if stack is None or stack.run_id != run_id:
        return False
    if stack.state == StackState.RUNNING:
        return True
    update_stack(conn, stack_id, now, run_id=None, next_cycle_at=None)
    return False


# --- scale ------------------------------------------------------------------------------


def global_scale(conn: Connection) -> int | None:
    return conn.execute(select(stack_controls.c.scale).where(stack_controls.c.id == 1)).scalar()


def set_global_scale(conn: Connection, now: datetime, scale: int | None) -> None:
    done = conn.execute(
        update(stack_controls).where(stack_controls.c.id == 1).values(scale=scale, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(insert(stack_controls), [{"id": 1, "scale": scale, "updated_at": now}])
