"""Rescuer: returns runs whose lease expired to the queue, and marks silent workers lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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
        rescue = await self._db.write(self._rescue)
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
        outcome: dict[RunStatus, list[str]] = {
            RunStatus.QUEUED: [],
            RunStatus.CANCELLED: [],
            RunStatus.PAUSED: [],
        }
        events = []
        for lease in run_queries.expired(conn, now):
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
                        "message": f"lease of {lease.claimed_by} expired; run is {target}",
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
