"""The JSON shapes of runs: submitting, deciding a gate, a run, its events, steps and artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from agentdeck.deck import MAX_PRIORITY, PRIORITY_HELP
from agentdeck.domain.gates import GateDecision
from agentdeck.domain.json_values import bounded
from agentdeck.domain.runs import Artifact, Event, Run, RunStatus, Step, WaitKind
from agentdeck.domain.usage import ModelCall
from agentdeck.web.schemas.common import reject_nul

# --- requests ----------------------------------------------------------------


class RunIn(BaseModel):
    """Start a run of a workflow."""

    model_config = ConfigDict(extra="forbid")

    workflow: str = Field(
        min_length=1, max_length=200, description="A name from GET /api/workflows."
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="The workflow's inputs (see its input_schema)."
    )
    priority: int = Field(0, ge=0, le=MAX_PRIORITY, strict=True, description=PRIORITY_HELP)
    not_before: AwareDatetime | None = Field(None, description="Do not start before this time.")
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Submitting the same key again returns the first run instead of a new one.",
    )
    concurrency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Runs sharing this key (a repository, a customer) never exceed "
        "concurrency_limit running at once; overrides the workflow's own key.",
    )
    concurrency_limit: int | None = Field(
        None,
        ge=1,
        le=10_000,
        strict=True,
        description="How many runs with the key may run at once (default: the workflow's, or 1).",
    )

    @field_validator("workflow", "inputs", "idempotency_key", "concurrency_key")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value, "the value")

    @field_validator("not_before", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        """An ISO 8601 string, not a number of seconds that could mean anything."""
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string with a timezone")
        return value

    @field_validator("not_before")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValueError("is out of the supported range of dates") from None


class GateIn(BaseModel):
    """A person's decision at a gate."""

    model_config = ConfigDict(extra="forbid")

    decision: GateDecision
    comment: str | None = Field(
        None, max_length=20_000, description="Required with `changes`: which changes."
    )
    data: dict[str, Any] | None = Field(
        None, description="Extra values the gate asks for, e.g. {'budget_usd': 5}."
    )

    @field_validator("comment", "data")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value, "the value")


# --- runs --------------------------------------------------------------------


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return kind(value)


class RunOut(BaseModel):
    """A run: what it is, where it stands, who holds it, what it cost."""

    id: str
    workflow: str
    agents: list[str] = Field(description="The agents the run uses.")
    status: RunStatus
    verdict: str | None = Field(description="The workflow's judgement, e.g. passed or failed.")
    current_stage: str | None
    current_attempt: int | None
    max_attempts: int | None = Field(description="From the inputs, when the workflow has one.")
    pass_threshold: float | None = Field(description="From the inputs, when the workflow has one.")
    score: float | None
    progress: float | None = Field(description="0 to 1, when the workflow reports it.")
    error: str | None
    inputs: dict[str, Any]
    result: Any = None
    priority: int
    due_at: datetime = Field(description="Not started before this time.")
    idempotency_key: str | None
    concurrency_key: str | None = Field(
        None, description="Runs sharing this key never exceed concurrency_limit running at once."
    )
    concurrency_limit: int | None = None
    wait_kind: WaitKind | None = Field(description="What a waiting run waits for.")
    waiting_on: str | None = Field(description="The gate or signal a waiting run waits on.")
    claimed_by: str | None = Field(description="The worker executing the run.")
    claimed_at: datetime | None
    heartbeat_at: datetime | None
    lease_expires_at: datetime | None
    stalled: bool = Field(description="Running, but its heartbeat is older than stalled_after.")
    overdue: bool = Field(
        False, description="Waiting at a gate for longer than gate_overdue_after."
    )
    cancel_requested_at: datetime | None
    pause_requested_at: datetime | None
    retry_of: str | None = Field(description="The run this one retries.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    cost_usd: str | None = Field(
        description="Total cost in USD as a decimal string; null when some call's price is "
        "unknown (see cost_unknown and priced_cost_usd)."
    )
    priced_cost_usd: str = Field(description="Cost of the calls whose price is known.")
    cost_unknown: bool = Field(description="Some model call had no known price.")
    input_tokens: int
    output_tokens: int
    cached_tokens: int

    @classmethod
    def of(
        cls,
        run: Run,
        now: datetime,
        stalled_after: timedelta,
        overdue_after: timedelta | None = None,
    ) -> RunOut:
        inputs = run.inputs if isinstance(run.inputs, dict) else {}
        priced = f"{run.cost_usd.normalize():f}"  # the same text whatever the column's scale
        return cls(
            id=run.id,
            workflow=run.workflow,
            agents=list(run.agents or []),
            status=RunStatus(run.status),
            verdict=run.verdict,
            current_stage=run.stage,
            current_attempt=run.attempt,
            max_attempts=_number(inputs.get("max_attempts"), int),
            pass_threshold=_number(inputs.get("pass_threshold"), float),
            score=run.score,
            progress=run.progress,
            error=run.error,
            inputs=bounded(inputs),
            result=bounded(run.result),
            priority=run.priority,
            due_at=run.due_at,
            idempotency_key=run.idempotency_key,
            concurrency_key=run.concurrency_key,
            concurrency_limit=run.concurrency_limit,
            wait_kind=WaitKind(run.wait_kind) if run.wait_kind else None,
            waiting_on=run.waiting_on,
            claimed_by=run.claimed_by,
            claimed_at=run.claimed_at,
            heartbeat_at=run.heartbeat_at,
            lease_expires_at=run.lease_expires_at,
            stalled=run.is_stalled(now, stalled_after),
            # a waiting run is not written to while it waits: its last change is when it began
            overdue=overdue_after is not None
            and run.status == RunStatus.WAITING.value
            and run.wait_kind == WaitKind.GATE.value
            and now - run.updated_at > overdue_after,
            cancel_requested_at=run.cancel_requested_at,
            pause_requested_at=run.pause_requested_at,
            retry_of=run.retry_of,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            updated_at=run.updated_at,
            cost_usd=None if run.cost_unknown else priced,
            priced_cost_usd=priced,
            cost_unknown=run.cost_unknown,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            cached_tokens=run.cached_tokens,
        )


class EventOut(BaseModel):
    """One entry of a run's log; ids order all events."""

    id: int
    run_id: str
    kind: str
    message: str | None
    data: Any = None
    created_at: datetime

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(
            id=event.id,
            run_id=event.run_id,
            kind=event.kind,
            message=event.message,
            data=bounded(event.data),
            created_at=event.created_at,
        )


class EventPageOut(BaseModel):
    """Events in order; pass `next_after` as `after` to get the ones that follow."""

    items: list[EventOut]
    next_after: int


class StepOut(BaseModel):
    """A journaled step: its result is replayed, not executed again, when the run resumes."""

    key: str
    status: str
    result: Any = None
    error: str | None
    attempts: int
    started_at: datetime
    finished_at: datetime

    @classmethod
    def of(cls, step: Step) -> StepOut:
        return cls(
            key=step.key,
            status=step.status,
            result=bounded(step.result),
            error=step.error,
            attempts=step.attempts,
            started_at=step.started_at,
            finished_at=step.finished_at,
        )


class CallOut(BaseModel):
    """One model call of a run; the run's totals are the sums of its calls."""

    id: int
    step_key: str | None = Field(description="The journaled step that made the call.")
    agent: str | None
    provider: str | None
    model: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: str | None = Field(description="Decimal string; null when no price is known.")
    created_at: datetime

    @classmethod
    def of(cls, call: ModelCall) -> CallOut:
        return cls(
            id=call.id,
            step_key=call.step_key,
            agent=call.agent,
            provider=call.provider,
            model=call.model,
            input_tokens=call.input_tokens,
            output_tokens=call.output_tokens,
            cached_tokens=call.cached_tokens,
            cost_usd=None if call.cost_usd is None else f"{call.cost_usd.normalize():f}",
            created_at=call.created_at,
        )


class ArtifactOut(BaseModel):
    """What a run produced, without its content (GET `url` for that)."""

    id: str
    run_id: str
    name: str
    media_type: str
    attempt: int | None
    size: int = Field(description="Bytes of content (UTF-8).")
    created_at: datetime
    url: str

    @classmethod
    def of(cls, artifact: Artifact) -> ArtifactOut:
        return cls(
            id=artifact.id,
            run_id=artifact.run_id,
            name=artifact.name,
            media_type=artifact.media_type,
            attempt=artifact.attempt,
            size=artifact.size,
            created_at=artifact.created_at,
            url=f"/api/artifacts/{artifact.id}",
        )
