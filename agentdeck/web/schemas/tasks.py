"""The JSON shapes of plan runs' tasks, their graph, people's resolutions and plan checks.

The dashboard's execution page renders the same models (see `execution_view`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentdeck.domain.json_values import bounded
from agentdeck.domain.plans import InvalidPlan, Plan, PlanTask, TaskGraph, check_plan
from agentdeck.domain.tasks import Resolution, TaskRow, TaskStatus, group_status
from agentdeck.web.schemas.common import reject_nul


class TaskOut(BaseModel):
    """A task of a plan run; a task with subtasks shows a summary of theirs as its status."""

    id: str = Field(description="`<run id>:<key>`; external agents report on this id.")
    run_id: str
    key: str = Field(description="The id the plan gave it.")
    parent: str | None = Field(description="The key of the task it is a subtask of.")
    depth: int
    is_group: bool = Field(description="Has subtasks: done when they all are.")
    title: str
    description: str | None
    role: str
    prerequisites: list[str]
    confidence: float | None
    needs_review: bool = Field(description="Below the review threshold: a person reviews it.")
    layer: int | None = Field(None, description="0 without prerequisites, else 1 + theirs.")
    status: TaskStatus
    attempt: int
    executor: Literal["internal", "external"] | None
    agent: str | None = Field(description="The internal agent, or the external agent's id.")
    target_agent: str | None = Field(description="The only external agent that may take it.")
    output: Any = None
    error: str | None
    reason: str | None = Field(description="Why it is blocked or skipped, or a person's note.")
    progress: float | None = Field(description="0 to 1, as its external agent reports.")
    lease_expires_at: datetime | None
    lease_expirations: int
    available_at: datetime | None
    pickup_deadline_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(
        cls, row: TaskRow, status: TaskStatus | None = None, layer: int | None = None
    ) -> TaskOut:
        executor = row.executor if row.executor in ("internal", "external") else None
        return cls(
            id=row.id,
            run_id=row.run_id,
            key=row.key,
            parent=row.parent_key,
            depth=row.depth,
            is_group=row.is_group,
            title=row.title,
            description=row.description,
            role=row.role,
            prerequisites=list(row.prerequisites or []),
            confidence=row.confidence,
            needs_review=row.needs_review,
            layer=layer,
            status=status or TaskStatus(row.status),
            attempt=row.attempt,
            executor=executor,
            agent=row.agent,
            target_agent=row.target_agent,
            output=bounded(row.output),
            error=row.error,
            reason=row.reason,
            progress=row.progress,
            lease_expires_at=row.lease_expires_at,
            lease_expirations=row.lease_expirations,
            available_at=row.available_at,
            pickup_deadline_at=row.pickup_deadline_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            updated_at=row.updated_at,
        )


class TasksOut(BaseModel):
    """A plan run's tasks in plan order, with counts, progress and what is blocked."""

    run_id: str
    items: list[TaskOut]
    counts: dict[str, int] = Field(description="Tasks without subtasks, by status.")
    progress: float = Field(description="Share of tasks without subtasks that are finished.")
    blocked: list[TaskOut] = Field(description="Tasks waiting for a person, with the reason.")


def task_views(run_id: str, rows: list[TaskRow]) -> TasksOut:
    """Rows as the API shows them: groups summarised, layers computed, counts of leaves."""
    children: dict[str, list[TaskRow]] = {}
    for row in rows:
        if row.parent_key is not None:
            children.setdefault(row.parent_key, []).append(row)
    derived: dict[str, TaskStatus] = {}
    for row in sorted(rows, key=lambda r: -r.depth):
        if row.is_group:
            derived[row.key] = group_status(
                [derived.get(c.key, TaskStatus(c.status)) for c in children.get(row.key, [])]
            )
    layers = _layers(rows, children)
    items = [TaskOut.of(r, derived.get(r.key), layers.get(r.key)) for r in rows]
    leaves = [t for t in items if not t.is_group]
    counts = Counter(t.status.value for t in leaves)
    done = sum(1 for t in leaves if t.status.finished)
    return TasksOut(
        run_id=run_id,
        items=items,
        counts=dict(counts),
        progress=round(done / len(leaves), 4) if leaves else 0.0,
        blocked=[t for t in leaves if t.status == TaskStatus.BLOCKED],
    )


def _layers(rows: list[TaskRow], children: dict[str, list[TaskRow]]) -> dict[str, int]:
    graph = graph_of(rows, children)
    return graph.layers() if graph is not None else {}


def graph_of(
    rows: list[TaskRow], children: dict[str, list[TaskRow]] | None = None
) -> TaskGraph | None:
    """The task graph the rows were made of (None for an older, laxer plan)."""
    if children is None:
        children = {}
        for row in rows:
            if row.parent_key is not None:
                children.setdefault(row.parent_key, []).append(row)

    def task(row: TaskRow) -> PlanTask:
        return PlanTask(
            id=row.key,
            title=row.title,
            prerequisites=list(row.prerequisites or []),
            subtasks=[task(c) for c in children.get(row.key, [])],
        )

    roots = [task(r) for r in rows if r.parent_key is None]
    if not roots:
        return None
    try:
        return check_plan(Plan(tasks=roots))
    except InvalidPlan:  # no graph rather than no page
        return None


class ResolveIn(BaseModel):
    """A person's resolution of a blocked task."""

    model_config = ConfigDict(extra="forbid")

    action: Resolution = Field(
        description="retry (or, for a task held for review, let it run), reassign (name "
        "`agent` or `external_agent`), done (mark it completed; `note` says how), skip (its "
        "dependents go ahead)."
    )
    note: str | None = Field(None, max_length=20_000, description="Shown to the next attempt.")
    agent: str | None = Field(None, max_length=100, description="reassign: an internal agent.")
    external_agent: str | None = Field(
        None, max_length=40, description="reassign: an external agent's id."
    )

    @field_validator("note", "agent", "external_agent")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value, "the value")


class PlanCheckIn(BaseModel):
    """A plan to check without running it."""

    model_config = ConfigDict(extra="forbid")

    plan: dict[str, Any] | list[Any] | str
    format: Literal["auto", "json", "markdown", "text"] = "auto"


class PlanCheckOut(BaseModel):
    """A plan as the plan workflow would read it."""

    format: Literal["json", "markdown", "text"]
    plan: dict[str, Any] | None = Field(description="The plan as JSON; null for free text.")
    tasks: int
    leaves: int
    layers: int
