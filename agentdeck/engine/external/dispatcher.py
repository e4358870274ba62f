"""The external-agent protocol: hand out tasks under a lease (long-polling), take reports.

A claim gives one task to one agent with a new lease id; every report must carry that
lease id, so a report from an agent whose lease expired (the task went back to the
pool, perhaps to another agent) is refused with 409. An outcome (completed, failed,
blocked) changes the task and signals its run in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Connection

from agentdeck.clock import Clock
from agentdeck.domain import json_values, media_types
from agentdeck.domain.errors import Conflict, NotFound
from agentdeck.domain.external_agents import ExternalAgentRow
from agentdeck.domain.ids import new_id
from agentdeck.domain.runs import RunStatus
from agentdeck.domain.tasks import (
    INBOX,
    LEASED,
    REPORT_BLOCKED,
    REPORT_COMPLETED,
    REPORT_FAILED,
    REPORT_RUNNING,
    TaskRow,
    TaskStatus,
)
from agentdeck.engine.notifier import Notifier, Topic
from agentdeck.store import external_agents as agent_queries
from agentdeck.store import journal
from agentdeck.store import tasks as task_queries
from agentdeck.store.database import Database
from agentdeck.store.transitions import ending, lock_run, send_signal

CANDIDATES = 5  # offered tasks one claim tries, in case others take the first ones
OUTPUT_IN_SIGNAL = 4_000  # characters of an output its run keeps for the dependents' prompts
ReportType = Literal["progress", "heartbeat", "artifact", "completed", "failed", "blocked"]


@dataclass(frozen=True)
class Report:
    """What an external agent reports about a task it holds."""

    type: ReportType
    lease_id: str
    message: str | None = None
    progress: float | None = None
    output: Any = None
    error: str | None = None
    retryable: bool = True
    reason: str | None = None
    artifact_name: str | None = None
    artifact_content: str | None = None
    media_type: str = "text/markdown"


class Dispatcher:
    """Claims with long polling, woken when tasks are offered; reports under the lease."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        lease_interval: timedelta,
        poll_interval: timedelta,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._lease = lease_interval
        self._poll = poll_interval.total_seconds()
        self._offers: asyncio.Event | None = None
        self.waiting = 0  # long polls of this process waiting for an offer now

    def wake(self) -> None:
        """Tasks were offered (or returned to the pool): waiting polls try to claim again."""
        if self._offers is not None:
            self._offers.set()
            self._offers = None

    def _offers_event(self) -> asyncio.Event:
        if self._offers is None:
            self._offers = asyncio.Event()
        return self._offers

    async def next_task(self, agent: ExternalAgentRow, wait: float) -> TaskRow | None:
        """A task for this agent, waiting up to `wait` seconds for one; None if none came."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            offered = self._offers_event()  # taken before the claim: no wake-up is missed
            task = await self._db.write(lambda conn: self._claim(conn, agent))
            if task is not None:
                self._notifier.publish(Topic.EVENT)
                return task
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self.waiting += 1
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(remaining, self._poll)):
                        await offered.wait()
            finally:
                self.waiting -= 1

    def _claim(self, conn: Connection, agent: ExternalAgentRow) -> TaskRow | None:
        now = self._clock.now()
        candidates = task_queries.offered(
            conn, agent_id=agent.id, capabilities=agent.capabilities, now=now, limit=CANDIDATES
        )
        task = None
        for task_id, run_id in candidates:
            # the run's lock first, as every writer of a run's rows takes it (see `take`);
            # an agent racing for the same task waits here, then finds it taken
            run = lock_run(conn, run_id)
            if run.status not in task_queries.ACTIVE_RUN or ending(run):
                continue
            task = task_queries.take(
                conn,
                task_id,
                agent_id=agent.id,
                now=now,
                lease_id=new_id("ls"),
                lease_expires_at=now + self._lease,
            )
            if task is not None:
                said = f"claimed by {agent.name} ({agent.id})"
                _event(conn, task, "task.claimed", said, now)
                break
        agent_queries.seen(conn, agent.id, now)
        return task

    async def report(self, agent: ExternalAgentRow, task_id: str, report: Report) -> TaskRow:
        """Apply a report from the agent holding the task's lease; Conflict (409) otherwise."""
        if report.type == "artifact":
            media_types.check(report.media_type)
        json_values.check_value(report.output, "output")
        task, woke = await self._db.write(lambda conn: self._report(conn, agent, task_id, report))
        self._notifier.publish(Topic.EVENT)
        if woke:
            self._notifier.publish(Topic.READY)
        return task

    def _report(
        self, conn: Connection, agent: ExternalAgentRow, task_id: str, report: Report
    ) -> tuple[TaskRow, bool]:
        now = self._clock.now()
        found = task_queries.find_task(conn, task_id)
        if found is None or found.is_group:
            raise NotFound(f"no task with id {task_id!r}")
        run = lock_run(conn, found.run_id)
        task = task_queries.find_task(conn, task_id, lock=True)
        assert task is not None
        agent_queries.seen(conn, agent.id, now)
        _check_holder(task, agent, report.lease_id)
        if ending(run):
            state = run.status if RunStatus(run.status).finished else "being cancelled"
            raise Conflict(f"the execution of task {task_id} is {state}: stop working on it")
        extend = {"lease_expires_at": now + self._lease, "updated_at": now}
        woke = False
        if report.type in ("heartbeat", "progress", "artifact"):
            if task.status == TaskStatus.ASSIGNED:
                task_queries.move_task(
                    conn, task_id, REPORT_RUNNING, extend, lease_id=report.lease_id
                )
            values: dict[str, Any] = dict(extend)
            if report.type == "progress" and report.progress is not None:
                values["progress"] = report.progress
            task_queries.update_leased(conn, task_id, report.lease_id, values)
            if report.type == "progress":
                said = report.message or f"{round((report.progress or 0) * 100)}% done"
                _event(conn, task, "task.progress", said, now, progress=report.progress)
            elif report.type == "artifact":
                self._artifact(conn, task, report, now)
        else:
            woke = self._outcome(conn, agent, task, report, now)
        updated = task_queries.find_task(conn, task_id)
        assert updated is not None
        return updated, woke

    def _artifact(self, conn: Connection, task: TaskRow, report: Report, now: Any) -> None:
        content = report.artifact_content or ""
        # a run holds one artifact per name: a later attempt's default name says which
        default = f"{task.key}.md" if task.attempt <= 1 else f"{task.key}.attempt-{task.attempt}.md"
        name = report.artifact_name or default
        journal.insert_artifacts(
            conn,
            [
                {
                    "id": new_id("art"),
                    "run_id": task.run_id,
                    "name": name,
                    "media_type": report.media_type,
                    "content": content,
                    "attempt": task.attempt,
                    "size": len(content.encode()),
                    "created_at": now,
                }
            ],
        )
        # a report sent again names the artifact already stored, not a second one
        artifact_id = journal.artifact_id(conn, task.run_id, name)
        _event(conn, task, "task.artifact", f"artifact {name}", now, artifact=artifact_id)

    def _outcome(
        self, conn: Connection, agent: ExternalAgentRow, task: TaskRow, report: Report, now: Any
    ) -> bool:
        """Completed, failed or blocked: move the task and tell its run, in this transaction."""
        done: dict[str, Any] = {"lease_id": None, "lease_expires_at": None, "updated_at": now}
        signal: dict[str, Any] = {
            "kind": "report",
            "task": task.key,
            "attempt": task.attempt,
            "agent": agent.id,
        }
        if report.type == "completed":
            text = report.output if isinstance(report.output, str) else None
            stored = {"text": text} if text is not None else {"data": report.output}
            values = {**done, "output": {**stored, "agent": agent.name}, "finished_at": now}
            values.update(progress=1.0, error=None)
            how, said = REPORT_COMPLETED, f"completed by {agent.name}"
            shown = text if text is not None else json.dumps(report.output)
            signal.update(status="completed", output=shown[:OUTPUT_IN_SIGNAL])
        elif report.type == "failed":
            error = report.error or "failed (no error given)"
            values = {**done, "error": error, "finished_at": now}
            how, said = REPORT_FAILED, f"failed at {agent.name}: {error[:300]}"
            signal.update(status="failed", error=error[:2000], retryable=report.retryable)
        else:
            reason = report.reason or "blocked (no reason given)"
            values = {**done, "reason": f"{agent.name}: {reason}"}
            how, said = REPORT_BLOCKED, f"blocked at {agent.name}: {reason[:300]}"
            signal.update(status="blocked", reason=reason[:2000])
        how.check(task.status)
        if not task_queries.move_task(conn, task.id, how, values, lease_id=report.lease_id):
            raise Conflict(f"task {task.id} changed while the report was applied; report again")
        _event(conn, task, f"task.{report.type}", said, now, agent=agent.id)
        return send_signal(conn, task.run_id, INBOX, signal, now)


def _check_holder(task: TaskRow, agent: ExternalAgentRow, lease_id: str) -> None:
    if task.status not in LEASED:
        raise Conflict(
            f"task {task.id} is {task.status}: no lease on it is current, so this report "
            "is refused; poll for new work"
        )
    if task.agent != agent.id or task.lease_id != lease_id:
        raise Conflict(
            f"you do not hold the current lease of task {task.id} (leases expire without "
            "heartbeats, and the task is given out again): this report is refused"
        )


def _event(conn: Connection, task: TaskRow, kind: str, message: str, now: Any, **data: Any) -> None:
    journal.insert_events(
        conn,
        [
            {
                "run_id": task.run_id,
                "kind": kind,
                "message": f"{task.key}: {message}",
                "data": {"task": task.key, "attempt": task.attempt, **data},
                "created_at": now,
            }
        ],
    )
