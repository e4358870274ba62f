"""Sweeper: the rescuer of task leases, and the other timeouts of external work.

Each sweep returns the tasks of expired leases to the pool (blocking, for human review,
those whose lease expired too often), marks external agents silent for too long
unreachable and returns their tasks, blocks offers nobody picked up in time, cancels
the open tasks of runs that ended, and wakes a run parked at the `human review` gate
whose resolution arrived on its signal instead. Any process may sweep: every change is
a guarded update, re-checked under the run's lock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Connection

from agentdeck.clock import Clock
from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.tasks import (
    ESCALATE_LEASE,
    ESCALATE_OFFER,
    INBOX,
    LEASED,
    RETURN,
    REVIEW_GATE,
    TaskRow,
    TaskStatus,
)
from agentdeck.engine.notifier import Notifier, Topic
from agentdeck.store import external_agents as agent_queries
from agentdeck.store import journal
from agentdeck.store import tasks as task_queries
from agentdeck.store.database import Database
from agentdeck.store.transitions import lock_run, send_signal

log = logging.getLogger(__name__)
PLAN_WORKFLOW = "plan"


@dataclass
class Sweep:
    """What one sweep did."""

    returned: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    cancelled: int = 0
    rechecked: list[str] = field(default_factory=list)
    woke: bool = False


class Sweeper:
    """One sweep at a time; `sweep()` is what the loop calls (and tests call directly)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        *,
        max_expirations: int,
        unreachable_after: timedelta,
        on_returned: Callable[[], None],
        recheck: Callable[[str], Awaitable[None]],
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._max = max_expirations
        self._unreachable_after = unreachable_after
        self._on_returned = on_returned
        self._recheck = recheck

    async def sweep(self) -> Sweep:
        done = Sweep()
        now = self._clock.now()
        done.unreachable = await self._db.write(
            lambda conn: agent_queries.mark_unreachable(conn, now - self._unreachable_after, now)
        )
        expired = await self._db.read(lambda conn: task_queries.expired_leases(conn, now))
        gone = await self._db.read(lambda conn: task_queries.held_by(conn, done.unreachable))
        lapsed = {t.id for t in expired}
        for task in {t.id: t for t in [*expired, *gone]}.values():
            why = "its lease expired" if task.id in lapsed else "its agent became unreachable"
            await self._release(task, why, done)
        overdue = await self._db.read(lambda conn: task_queries.overdue_offers(conn, now))
        for task in overdue:
            await self._escalate_offer(task, done)
        done.cancelled = await self._db.write(
            lambda conn: task_queries.cancel_tasks_of_ended_runs(conn, now)
        )
        await self._recheck_gates(done)
        if done.returned:
            self._on_returned()
        if done.returned or done.blocked or done.cancelled:
            self._notifier.publish(Topic.EVENT)
        if done.woke:
            self._notifier.publish(Topic.READY)
        return done

    async def release(self, task: TaskRow, why: str) -> Sweep:
        """Return one leased task to the pool now (its agent was revoked)."""
        done = Sweep()
        await self._release(task, why, done)
        if done.returned:
            self._on_returned()
        if done.woke:
            self._notifier.publish(Topic.READY)
        self._notifier.publish(Topic.EVENT)
        return done

    async def _release(self, task: TaskRow, why: str, done: Sweep) -> None:
        def tx(conn: Connection) -> None:
            lock_run(conn, task.run_id)
            current = task_queries.find_task(conn, task.id, lock=True)
            if current is None or current.status not in LEASED or current.lease_id != task.lease_id:
                return  # reported, or released by another sweeper, meanwhile
            now = self._clock.now()
            expirations = current.lease_expirations + 1
            values = {
                "lease_id": None,
                "lease_expires_at": None,
                "lease_expirations": expirations,
                "progress": None,
                "updated_at": now,
            }
            if expirations >= self._max:
                reason = (
                    f"{why}, and its lease has now expired {expirations} times: "
                    "is the work too long for the lease, or the agent failing?"
                )
                task_queries.move_task(conn, task.id, ESCALATE_LEASE, {**values, "reason": reason})
                _event(conn, current, "task.blocked", f"needs review: {reason}", now)
                done.woke |= self._tell_run(conn, current, reason, now)
                done.blocked.append(task.id)
            else:
                # offered afresh: the pickup timeout starts again from now
                deadline = None
                if current.pickup_deadline_at and current.available_at:
                    deadline = now + (current.pickup_deadline_at - current.available_at)
                values.update(available_at=now, pickup_deadline_at=deadline)
                task_queries.move_task(conn, task.id, RETURN, values)
                _event(conn, current, "task.returned", f"{why}; back in the pool", now)
                done.returned.append(task.id)

        await self._db.write(tx)

    async def _escalate_offer(self, task: TaskRow, done: Sweep) -> None:
        def tx(conn: Connection) -> None:
            lock_run(conn, task.run_id)
            current = task_queries.find_task(conn, task.id, lock=True)
            if current is None or current.status != TaskStatus.READY:
                return
            if current.pickup_deadline_at != task.pickup_deadline_at:
                return  # offered again meanwhile
            now = self._clock.now()
            reason = f"no external agent with the capability {current.role!r} picked it up in time"
            values = {"reason": reason, "updated_at": now}
            if task_queries.move_task(conn, task.id, ESCALATE_OFFER, values):
                _event(conn, current, "task.blocked", f"needs review: {reason}", now)
                done.woke |= self._tell_run(conn, current, reason, now)
                done.blocked.append(task.id)

        await self._db.write(tx)

    def _tell_run(self, conn: Connection, task: TaskRow, reason: str, now: object) -> bool:
        signal = {
            "kind": "report",
            "task": task.key,
            "attempt": task.attempt,
            "status": "blocked",
            "reason": reason,
        }
        try:
            return send_signal(conn, task.run_id, INBOX, signal, now)  # type: ignore[arg-type]
        except AgentdeckError:
            return False  # the run ended: its tasks are cancelled by this sweep

    async def _recheck_gates(self, done: Sweep) -> None:
        """A resolution sent as a signal just as the run parked at the gate: wake it."""

        def find(conn: Connection) -> list[str]:
            waiting = task_queries.runs_waiting_at(conn, PLAN_WORKFLOW, REVIEW_GATE)
            return task_queries.unread_signals(conn, waiting, INBOX)

        for run_id in await self._db.read(find):
            try:
                await self._recheck(run_id)
                done.rechecked.append(run_id)
            except AgentdeckError as error:  # decided or resumed meanwhile
                log.debug("no recheck of %s: %s", run_id, error)


def _event(conn: Connection, task: TaskRow, kind: str, message: str, now: object) -> None:
    journal.insert_events(
        conn,
        [
            {
                "run_id": task.run_id,
                "kind": kind,
                "message": f"{task.key}: {message}",
                "data": {"task": task.key, "attempt": task.attempt},
                "created_at": now,
            }
        ],
    )
