"""Transitions a person asks for: submit, cancel, pause, resume, retry, signal, decide a gate.

Each public function is one transaction's work on the caller's connection: it row-locks
the run (PostgreSQL: a worker parking this run holds the same lock until it commits, so
the decision never rests on a state about to change), checks the transition against
the state machine, writes the change, its event and the wake-up, and reads the run back.
The Deck opens the transaction and publishes in-process wake-ups after commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from agentdeck.domain.errors import Conflict, IllegalTransition, NotFound
from agentdeck.domain.events import EventKind
from agentdeck.domain.gates import gate_channel
from agentdeck.domain.ids import new_id
from agentdeck.domain.runs import Run, RunStatus, WaitKind, check_transition, sources_of
from agentdeck.domain.topics import Topic
from agentdeck.store import journal
from agentdeck.store import runs as run_queries
from agentdeck.store.notify import notify, payload

Change = Callable[[Connection, datetime, Run], str]


def steer(conn: Connection, now: datetime, run_id: str, change: Change) -> tuple[Run, str]:
    """Lock and read the run, apply `change`; the run it names (a retry's new one), re-read."""
    run = lock_run(conn, run_id)
    target_id = change(conn, now, run)
    changed = run_queries.find_run(conn, target_id)
    assert changed is not None  # written in this transaction
    return changed, target_id


def lock_run(conn: Connection, run_id: str) -> Run:
    """Row-lock the run (PostgreSQL) before its tasks and events, as every writer does."""
    if "\x00" in run_id:
        raise NotFound(f"no run with id {run_id!r}")
    run_queries.lock_leases(conn, [run_id])
    run = run_queries.find_run(conn, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
    return run


def ending(run: Run) -> bool:
    """Finished, or a person asked it to stop: it takes no more work."""
    return RunStatus(run.status).finished or run.cancel_requested_at is not None


def send_signal(conn: Connection, run_id: str, name: str, data: Any, now: datetime) -> bool:
    """Store a signal for the run (locked by `lock_run` first); True if it woke the run.

    For callers whose own change (a task's) must commit with the signal; they publish
    READY on their notifier after commit when this returns True.
    """
    run = run_queries.find_run(conn, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
    return _signal(conn, now, run, name, data, None)


def submit_tx(conn: Connection, rows: list[dict[str, Any]]) -> list[Run]:
    """Insert the runs whose idempotency key is new; return one run per row, in order."""
    existing = run_queries.find_by_idempotency_keys(
        conn, [r["idempotency_key"] for r in rows if r["idempotency_key"]]
    )
    out: list[Run] = []
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = row["idempotency_key"]
        if key and key in existing:
            out.append(existing[key])
            continue
        run = run_queries.new_run(row)
        if key:
            existing[key] = run  # a repeat within this call
        fresh.append(row)
        out.append(run)
    run_queries.insert_runs(conn, fresh)
    record_events(
        conn,
        [(r["id"], EventKind.SUBMITTED, None, r["created_at"]) for r in fresh],
        notify_also=[payload(Topic.READY)] if fresh else [],
    )
    return out


def cancel_tx(conn: Connection, now: datetime, run: Run) -> str:
    check_transition(run.status, RunStatus.CANCELLED)
    if run.status == RunStatus.RUNNING:
        update_run(conn, run, [RunStatus.RUNNING], cancel_requested_at=now, updated_at=now)
        record_events(
            conn,
            [(run.id, EventKind.CANCEL_REQUESTED, "cancel requested", now)],
            notify_also=[payload(Topic.CANCEL, run.id)],
        )
    else:
        update_run(
            conn,
            run,
            sources_of(RunStatus.CANCELLED) - {RunStatus.RUNNING},
            status=RunStatus.CANCELLED,
            cancel_requested_at=now,
            finished_at=now,
            error="cancelled",
            updated_at=now,
        )
        record_events(
            conn,
            [(run.id, EventKind.CANCELLED, "cancelled", now)],
            notify_also=[payload(Topic.FINISHED, run.id)],
        )
    return run.id


def pause_tx(conn: Connection, now: datetime, run: Run) -> str:
    check_transition(run.status, RunStatus.PAUSED)
    if run.status == RunStatus.RUNNING:
        update_run(conn, run, [RunStatus.RUNNING], pause_requested_at=now, updated_at=now)
        record_events(
            conn,
            [(run.id, EventKind.PAUSE_REQUESTED, "pause requested", now)],
            notify_also=[payload(Topic.PAUSE, run.id)],
        )
    else:
        update_run(
            conn,
            run,
            [RunStatus.QUEUED, RunStatus.WAITING],
            status=RunStatus.PAUSED,
            pause_requested_at=now,
            updated_at=now,
        )
        record_events(
            conn,
            [(run.id, EventKind.PAUSED, "paused", now)],
            notify_also=[payload(Topic.FINISHED, run.id)],
        )
    return run.id


def resume_tx(conn: Connection, now: datetime, run: Run) -> str:
    if run.status != RunStatus.PAUSED:
        raise IllegalTransition("run", run.status, "resumed (only a paused run resumes)")
    update_run(
        conn,
        run,
        [RunStatus.PAUSED],
        status=RunStatus.QUEUED,
        pause_requested_at=None,
        claimed_by=None,
        wait_kind=None,
        waiting_on=None,
        due_at=now,
        updated_at=now,
    )
    record_events(
        conn, [(run.id, EventKind.RESUMED, "resumed", now)], notify_also=[payload(Topic.READY)]
    )
    return run.id


def retry_tx(conn: Connection, now: datetime, run: Run) -> str:
    if not RunStatus(run.status).finished:
        raise Conflict(f"run {run.id} is {run.status}; only a finished run can be retried")
    new_id_ = new_id("run")
    run_queries.insert_runs(
        conn,
        [
            {
                "id": new_id_,
                "workflow": run.workflow,
                "status": RunStatus.QUEUED,
                "inputs": run.inputs,
                "priority": run.priority,
                "due_at": now,
                "agents": run.agents,
                "retry_of": run.id,
                "concurrency_key": run.concurrency_key,
                "concurrency_limit": run.concurrency_limit,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    record_events(
        conn,
        [
            (new_id_, EventKind.SUBMITTED, f"retry of {run.id}", now),
            (run.id, EventKind.RETRIED, f"retried as {new_id_}", now),
        ],
        notify_also=[payload(Topic.READY)],
    )
    return new_id_


def signal_tx(
    conn: Connection,
    now: datetime,
    run: Run,
    name: str,
    data: Any,
    kind: WaitKind | None,
) -> str:
    _signal(conn, now, run, name, data, kind)
    return run.id


def _signal(
    conn: Connection, now: datetime, run: Run, name: str, data: Any, kind: WaitKind | None
) -> bool:
    """Store the signal (a gate's decision when `kind` is GATE); True if it woke the run."""
    if kind == WaitKind.GATE and not (
        run.status == RunStatus.WAITING
        and run.wait_kind == WaitKind.GATE
        and run.waiting_on == name
    ):
        where = f"at gate {run.waiting_on!r}" if run.wait_kind == WaitKind.GATE else run.status
        raise Conflict(f"run {run.id} is not waiting at gate {name!r} (it is {where})")
    if RunStatus(run.status).finished:
        raise Conflict(f"run {run.id} is {run.status}; it takes no more signals")
    channel = gate_channel(name) if kind == WaitKind.GATE else name
    journal.insert_signal(
        conn, {"run_id": run.id, "name": channel, "payload": data, "created_at": now}
    )
    kind_event = EventKind.GATE_DECIDED if kind == WaitKind.GATE else EventKind.SIGNAL
    message = f"{name}: {data['decision']}" if kind == WaitKind.GATE else f"signal {name}"
    record_events(conn, [(run.id, kind_event, message, now)], data={"name": name, "payload": data})
    woken = (
        run.status == RunStatus.WAITING
        and run.waiting_on == name
        and run.wait_kind == (kind or WaitKind.SIGNAL)
    )
    if woken:
        values = {"status": RunStatus.QUEUED, "wait_kind": None, "waiting_on": None}
        update_run(conn, run, [RunStatus.WAITING], **values, due_at=now, updated_at=now)
    notify(conn, [payload(Topic.READY)] if woken else [])
    return woken


def update_run(conn: Connection, run: Run, sources: Iterable[RunStatus], **values: Any) -> None:
    """Apply a transition checked in Python; the guarded UPDATE catches a concurrent change."""
    if not run_queries.update_guarded(conn, run.id, sources, values):
        current = run_queries.find_run(conn, run.id)
        raise IllegalTransition(
            "run", current.status if current else "gone", str(values.get("status", "changed"))
        )


def record_events(
    conn: Connection,
    items: list[tuple[str, str, str | None, datetime]],
    data: Any = None,
    *,
    notify_also: Sequence[str] = (),
) -> None:
    """Insert the events; their NOTIFY and `notify_also` go in one statement."""
    journal.insert_events(
        conn,
        [
            {
                "run_id": run_id,
                "kind": str(kind),
                "message": message,
                "data": data,
                "created_at": at,
            }
            for run_id, kind, message, at in items
        ],
        notify_also=notify_also,
    )
