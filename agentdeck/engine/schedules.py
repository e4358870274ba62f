"""Firing schedules: each due time of a schedule submits exactly one run.

Any worker may fire. Each due schedule is fired by a guarded UPDATE that moves its
`next_due_at` from the due time it read to the next one, and the run is submitted in the
same transaction with the idempotency key `schedule:<id>:<due>`. Two workers reading the
same due time: one UPDATE matches, the other finds the time already moved and does
nothing (PostgreSQL re-checks the WHERE after the first commits; SQLite has one writer).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from agentdeck.clock import Clock
from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.ids import new_id
from agentdeck.domain.runs import RunStatus
from agentdeck.domain.schedules import next_due, parse_spec
from agentdeck.engine.notifier import Notifier, Topic
from agentdeck.engine.registry import Registry
from agentdeck.store import schedules as schedule_queries
from agentdeck.store.database import Database
from agentdeck.store.schedules import ScheduleRow
from agentdeck.store.transitions import submit_tx

log = logging.getLogger(__name__)


def idempotency_key(schedule: ScheduleRow) -> str:
    return f"schedule:{schedule.id}:{schedule.next_due_at.isoformat()}"


class Scheduler:
    """Submits the runs of due schedules whose workflow this process knows."""

    def __init__(self, db: Database, registry: Registry, notifier: Notifier, clock: Clock) -> None:
        self._db = db
        self._registry = registry
        self._notifier = notifier
        self._clock = clock

    async def fire(self) -> list[str]:
        """Fire every due schedule once; returns the ids of the runs submitted."""
        # a read first: nothing due (the usual case) costs no write lock, which on SQLite
        # would hold every other writer back once per rescue interval
        now = self._clock.now()
        due = await self._db.read(lambda conn: schedule_queries.due_schedules(conn, now))
        if not any(self._registry.find(s.workflow) for s in due):
            return []
        fired = await self._db.write(self._fire_tx)
        if fired:
            self._notifier.publish(Topic.READY)
            self._notifier.publish(Topic.EVENT)
        return fired

    def _fire_tx(self, conn: Connection) -> list[str]:
        now = self._clock.now()
        fired: list[str] = []
        for schedule in schedule_queries.due_schedules(conn, now):
            workflow = self._registry.find(schedule.workflow)
            if workflow is None:
                continue  # a process that has this workflow registered fires it
            # a schedule missed for a while fires once, then resumes from now
            upcoming = next_due(parse_spec(schedule.spec), now)
            try:
                inputs = workflow.validate_inputs(schedule.inputs)
            except AgentdeckError as error:
                # the workflow's inputs changed under the schedule: skip this due time
                log.warning("schedule %s not fired: %s", schedule.name, error)
                schedule_queries.move_due(conn, schedule.id, schedule.next_due_at, upcoming, None)
                continue
            run_id = new_id("run")
            if not schedule_queries.move_due(
                conn, schedule.id, schedule.next_due_at, upcoming, run_id
            ):
                continue  # another worker fired this due time
            row = {
                "id": run_id,
                "workflow": workflow.name,
                "status": RunStatus.QUEUED,
                "inputs": inputs,
                "priority": 0,
                "due_at": now,
                "idempotency_key": idempotency_key(schedule),
                "agents": workflow.agents_of(inputs),
                "created_at": now,
                "updated_at": now,
            }
            fired.append(submit_tx(conn, [row])[0].id)
        return fired
