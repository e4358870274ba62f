"""The build queue's own query: a person moves a build up or down the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from agentdeck.store.schema import runs

# a build still in the queue, or parked in it: its priority decides when it is claimed next
REORDERABLE = ("queued", "waiting", "paused")


def set_priority(
    conn: Connection, run_id: str, workflow: str, priority: int, now: datetime
) -> bool:
    """True when the run exists, is of `workflow` and is not running or finished."""
    done = conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.workflow == workflow, runs.c.status.in_(REORDERABLE))
        .values(priority=priority, updated_at=now)
    )
    return done.rowcount > 0
