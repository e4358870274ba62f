"""The JSON shapes of the system: workflows, workers, health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentdeck.deck import Workflow
from agentdeck.domain.workers import WorkerRow
from agentdeck.web.schemas.common import WorkerStatus


class WorkflowOut(BaseModel):
    """A workflow runs can be started of, with the JSON schema of its inputs."""

    name: str
    description: str
    input_schema: dict[str, Any]

    @classmethod
    def of(cls, workflow: Workflow) -> WorkflowOut:
        return cls(
            name=workflow.name,
            description=workflow.description,
            input_schema=workflow.input_schema(),
        )


class WorkerOut(BaseModel):
    """A worker process; `lost` when its heartbeat stopped without a clean stop."""

    id: str
    hostname: str
    pid: int
    concurrency: int
    status: WorkerStatus
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    runs_in_hand: int | None = Field(description="Runs it executes now; null if not counted.")

    @classmethod
    def of(
        cls, row: WorkerRow, now: datetime, lost_after: timedelta, runs: int | None
    ) -> WorkerOut:
        status = row.status if row.status in ("alive", "stopped", "lost") else "lost"
        if status == "alive" and now - row.heartbeat_at > lost_after:
            status = "lost"  # silent, and no rescuer has marked it yet
        return cls(
            id=row.id,
            hostname=row.hostname,
            pid=row.pid,
            concurrency=row.concurrency,
            status=status,
            version=row.version,
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            stopped_at=row.stopped_at,
            runs_in_hand=runs,
        )


class DatabaseHealth(BaseModel):
    ok: bool
    dialect: str
    error: str | None = None


class WorkersHealth(BaseModel):
    alive: int
    ids: list[str]


class HealthOut(BaseModel):
    """Whether the database answers, which workers are alive, runs by status."""

    status: Literal["ok", "unavailable"]
    version: str
    database: DatabaseHealth
    workers: WorkersHealth
    runs: dict[str, int]
