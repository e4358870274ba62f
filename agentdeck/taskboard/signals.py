"""A signal to a plan run inside the caller's transaction, so a task's change and the
signal that tells its run about it commit together (or not at all).

The rules are Deck.signal's (agentdeck/deck.py, `_signal_tx`): refused for a finished
run; the signal is stored and logged; a run waiting on its name is queued again.
Callers publish READY on their notifier after commit when `send_signal` returns True.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from agentdeck.domain.errors import Conflict, NotFound
from agentdeck.domain.events import EventKind
from agentdeck.domain.runs import Run, RunStatus, WaitKind
from agentdeck.engine.notifier import Topic, payload
from agentdeck.store import journal
from agentdeck.store import runs as run_queries
from agentdeck.store.notify import notify


def lock_run(conn: Connection, run_id: str) -> Run:
    """Row-lock the run (PostgreSQL) before its tasks and events, as every writer does."""
    run_queries.lock_leases(conn, [run_id])
    run = run_queries.find_run(conn, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
    return run


def ending(run: Run) -> bool:
    """Finished, or a person asked it to stop: it takes no more work."""
    return RunStatus(run.status).finished or run.cancel_requested_at is not None


def send_signal(conn: Connection, run_id: str, name: str, data: Any, now: datetime) -> bool:
    """Store a signal for the run (locked by `lock_run` first); True if it woke the run."""
    run = run_queries.find_run(conn, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
    if RunStatus(run.status).finished:
        raise Conflict(f"run {run_id} is {run.status}; it takes no more signals")
    signal = {"run_id": run_id, "name": name, "payload": data, "created_at": now}
    journal.insert_signal(conn, signal)
    journal.insert_events(
        conn,
        [
            {
                "run_id": run_id,
                "kind": EventKind.SIGNAL,
                "message": f"signal {name}",
                "data": {"name": name, "payload": data},
                "created_at": now,
            }
        ],
    )
    woken = (
        run.status == RunStatus.WAITING
        and run.waiting_on == name
        and run.wait_kind == WaitKind.SIGNAL
    )
    if woken:
        run_queries.update_guarded(
            conn,
            run_id,
            [RunStatus.WAITING],
            {
                "status": RunStatus.QUEUED,
                "wait_kind": None,
                "waiting_on": None,
                "due_at": now,
                "updated_at": now,
            },
        )
        notify(conn, [payload(Topic.READY)])
    return woken
