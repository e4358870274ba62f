"""Rescuer: returns runs whose lease expired to the queue, and marks silent workers lost."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from agentdeck.clock import Clock
from agentdeck.domain.events import EventKind
from agentdeck.domain.runs import RunStatus
from agentdeck.engine.notifier import Notifier, Topic, payload
from agentdeck.store import journal
from agentdeck.store import runs as run_queries
from agentdeck.store import workers as worker_queries
from agentdeck.store.database import Database
from agentdeck.store.notify import notify
from agentdeck.store.runs import Lease


@dataclass(frozen=True)
class Rescue:
    requeued: list[str]
    cancelled: list[str]
    paused: list[str]


class Rescuer:
    """Any process may rescue; on PostgreSQL two rescuers skip each other's rows."""

    def __init__(
        self, db: Database, notifier: Notifier, clock: Clock, worker_lost_after: timedelta
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._clock = clock
        self._worker_lost_after = worker_lost_after

    async def rescue(self) -> Rescue:
        return self._published(await self._db.write(self._rescue))

    async def rescue_gone(
        self, hostname: str, own_id: str, alive: Callable[[int], bool] | None = None
    ) -> Rescue:
        """Rescue at once the runs of workers known to be gone, without waiting for leases.

        Gone: a worker row of this host whose process no longer exists (`alive(pid)`
        is False), or one silent for longer than `worker_lost_after`. A crashed
        `agentdeck up` restarted on the same machine takes its runs back at once.
        """

        alive = alive or process_exists

        def tx(conn: Connection) -> Rescue:
            now = self._clock.now()
            gone = [
                w.id
                for w in worker_queries.alive_workers(conn)
                if w.id != own_id
                and (
                    (w.hostname == hostname and not alive(w.pid))
                    or w.heartbeat_at < now - self._worker_lost_after
                )
            ]
            if not gone:
                return Rescue([], [], [])
            worker_queries.mark_gone(conn, gone)
            leases = run_queries.held_leases(conn, gone)
            return self._return(conn, leases, now, "is gone")

        return self._published(await self._db.write(tx))

    def _published(self, rescue: Rescue) -> Rescue:
        if rescue.requeued or rescue.cancelled or rescue.paused:
            self._notifier.publish(Topic.EVENT)
        if rescue.requeued:
            self._notifier.publish(Topic.READY)
        for run_id in rescue.cancelled + rescue.paused:
            self._notifier.publish(Topic.FINISHED, run_id)
        return rescue

    def _rescue(self, conn: Connection) -> Rescue:
        now = self._clock.now()
        worker_queries.mark_lost(conn, now - self._worker_lost_after)
        return self._return(conn, run_queries.expired(conn, now), now, "'s lease expired")

    def _return(self, conn: Connection, leases: list[Lease], now: datetime, why: str) -> Rescue:
        """Queue these running runs again (cancel or pause them if that was asked)."""
        outcome: dict[RunStatus, list[str]] = {
            RunStatus.QUEUED: [],
            RunStatus.CANCELLED: [],
            RunStatus.PAUSED: [],
        }
        events = []
        for lease in leases:
            if lease.cancel_requested_at is not None:
                target = RunStatus.CANCELLED
                values = {"status": target, "finished_at": now, "error": "cancelled"}
            elif lease.pause_requested_at is not None:
                target = RunStatus.PAUSED
                values = {"status": target}
            else:
                target = RunStatus.QUEUED
                values = {"status": target, "claimed_by": None, "due_at": now}
            values.update(lease_expires_at=None, updated_at=now)
            if run_queries.update_guarded(conn, lease.run_id, [RunStatus.RUNNING], values):
                outcome[target].append(lease.run_id)
                events.append(
                    {
                        "run_id": lease.run_id,
                        "kind": EventKind.LEASE_EXPIRED,
                        "message": f"{lease.claimed_by}{why}; run is {target}",
                        "data": {"worker": lease.claimed_by, "epoch": lease.lease_epoch},
                        "created_at": now,
                    }
                )
        journal.insert_events(conn, events)
        notes = [payload(Topic.READY)] if outcome[RunStatus.QUEUED] else []
        notes += [payload(Topic.FINISHED, r) for r in outcome[RunStatus.CANCELLED]]
        notify(conn, notes)
        return Rescue(
            outcome[RunStatus.QUEUED], outcome[RunStatus.CANCELLED], outcome[RunStatus.PAUSED]
        )


def process_exists(pid: int) -> bool:
    """Whether a process of this id runs on this machine (signal 0 checks, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def release_given_up(conn: Connection, worker_id: str, runs: dict[str, int], now: datetime) -> None:
    """Queue again runs a worker gave up, where it still holds them at that epoch."""
    released = run_queries.release_held(conn, worker_id, runs, now)
    journal.insert_events(
        conn,
        [
            {
                "run_id": run_id,
                "kind": EventKind.RELEASED,
                "message": f"released by {worker_id}, which could not go on with it",
                "data": {"worker": worker_id, "epoch": runs[run_id]},
                "created_at": now,
            }
            for run_id in released
        ],
    )
    if released:
        notify(conn, [payload(Topic.READY)])
