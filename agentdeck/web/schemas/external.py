"""The JSON shapes of the external-agent protocol: registration, work, leases, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentdeck.domain import media_types
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.external_agents import ExternalAgentRow
from agentdeck.domain.tasks import TaskStatus
from agentdeck.web.schemas.common import reject_nul

# --- external agents --------------------------------------------------------------

Capability = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,59}$")]


class ExternalAgentIn(BaseModel):
    """Register an external agent."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    capabilities: list[Capability] = Field(
        min_length=1,
        max_length=50,
        description="The task roles it can do; a task is offered to agents with its role.",
    )
    description: str | None = Field(None, max_length=2000)

    @field_validator("description")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value, "the value")


class ExternalAgentOut(BaseModel):
    """An external agent: what it can do, whether it is reachable, what it holds."""

    id: str
    name: str
    description: str | None
    capabilities: list[str]
    status: Literal["active", "unreachable", "revoked"]
    created_at: datetime
    last_seen_at: datetime | None = Field(description="Its last poll or report; null: never.")
    revoked_at: datetime | None
    tasks_in_hand: int

    @classmethod
    def of(cls, row: ExternalAgentRow, held: int = 0) -> ExternalAgentOut:
        status = row.status if row.status in ("active", "unreachable", "revoked") else "active"
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            capabilities=list(row.capabilities),
            status=status,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            revoked_at=row.revoked_at,
            tasks_in_hand=held,
        )


class ExternalAgentCreatedOut(ExternalAgentOut):
    """A new external agent, with its token: shown this once and never again."""

    token: str = Field(description="Send as `Authorization: Bearer <token>`; store it now.")


class WorkTask(BaseModel):
    id: str = Field(description="Report on this id: POST /api/tasks/{id}/events.")
    key: str
    run_id: str
    title: str
    description: str | None
    role: str
    attempt: int
    subtask_of: str | None


class LeaseOut(BaseModel):
    id: str = Field(description="Send as `lease_id` with every report on the task.")
    expires_at: datetime = Field(description="Heartbeat or report progress before this.")
    interval_s: float = Field(description="How far each heartbeat extends the lease.")


class WorkOut(BaseModel):
    """A task handed to an external agent, under a lease."""

    task: WorkTask
    inputs: Any = Field(description="The plan, its prerequisites' results, a person's note.")
    lease: LeaseOut
    report_url: str


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lease_id: str = Field(min_length=1, max_length=40, description="From the claim.")


class HeartbeatIn(_Report):
    """Still working: extends the lease."""

    type: Literal["heartbeat"]


class ProgressIn(_Report):
    """How far along it is (also extends the lease)."""

    type: Literal["progress"]
    progress: float | None = Field(None, ge=0, le=1)
    message: str | None = Field(None, max_length=2000)


class ArtifactIn(_Report):
    """Content it produced, stored with the run (also extends the lease)."""

    type: Literal["artifact"]
    name: str = Field(min_length=1, max_length=300)
    content: str = Field(max_length=5_000_000)
    media_type: str = Field(
        "text/markdown",
        min_length=1,
        max_length=media_types.MAX_LENGTH,
        description="`type/subtype` in ASCII, with simple parameters: text/markdown, "
        "application/json; charset=utf-8.",
        json_schema_extra={"pattern": media_types.PATTERN},
    )

    @field_validator("media_type")
    @classmethod
    def _media_type(cls, value: str) -> str:
        try:
            return media_types.check(value)
        except InvalidInput as error:
            raise ValueError(str(error).removeprefix("media_type ")) from None


class CompletedIn(_Report):
    """Done: the output (any JSON) goes to the task and to its dependents."""

    type: Literal["completed"]
    output: Any = None


class FailedIn(_Report):
    """It failed; retryable failures are tried again (up to the run's max attempts)."""

    type: Literal["failed"]
    error: str = Field(min_length=1, max_length=20_000)
    retryable: bool = True


class BlockedIn(_Report):
    """It cannot go on without a person: the task waits for human review."""

    type: Literal["blocked"]
    reason: str = Field(min_length=1, max_length=20_000)


ReportIn = Annotated[
    HeartbeatIn | ProgressIn | ArtifactIn | CompletedIn | FailedIn | BlockedIn,
    Field(discriminator="type"),
]


class ReportOut(BaseModel):
    """The task after the report."""

    task_id: str
    status: TaskStatus
    lease_expires_at: datetime | None = Field(description="Null once the lease is over.")
