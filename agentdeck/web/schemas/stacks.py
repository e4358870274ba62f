"""The JSON shapes of stacks: creating one, a stack, its todos, messages, artifacts,
memory and cycles (work detected, the execution graph, the decision and its reason)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentdeck.domain.stack_rows import (
    CycleRow,
    MessageRow,
    StackAgentRow,
    StackArtifactRow,
    StackRow,
    TodoRow,
)
from agentdeck.domain.stacks import StackAction as MoveAction
from agentdeck.domain.stacks import can_move
from agentdeck.web.schemas.common import reject_nul

STACK_ROLES = ("planner", "builder", "communicator", "reviewer")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")
MAX_IDEA = 4000
MAX_MESSAGE = 4000
MAX_SCALE = 100_000
SLIDER_MAX = 200  # the slider goes at least this high; the API takes up to MAX_SCALE

StackAction = Literal["start", "pause", "resume", "stop"]
BulkAction = Literal["start-all", "pause-all", "stop-all"]

# --- requests ----------------------------------------------------------------


class StackAgentsIn(BaseModel):
    """Which agent fills each role: a stored agent or one of agents.yaml (null: the default,
    `stack-<role>`)."""

    model_config = ConfigDict(extra="forbid")

    planner: str | None = Field(None, min_length=1, max_length=100)
    builder: str | None = Field(None, min_length=1, max_length=100)
    communicator: str | None = Field(None, min_length=1, max_length=100)
    reviewer: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value, "the agent's name")

    def chosen(self) -> dict[str, str]:
        """The roles given an agent, role -> agent name."""
        return {role: name for role in STACK_ROLES if (name := getattr(self, role))}


class StackIn(BaseModel):
    """Create a stack: a team of role agents working on one project idea."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=100,
        description="Letters, digits, spaces and `_ . -`, starting with a letter or digit.",
    )
    idea: str | None = Field(
        None,
        max_length=MAX_IDEA,
        description="The project idea; empty or null: the planner invents one.",
    )
    agents: StackAgentsIn = Field(
        default_factory=StackAgentsIn,
        description="The agent of each role (planner, builder, communicator, reviewer).",
    )
    budget_usd: Decimal | None = Field(
        None,
        ge=0,
        max_digits=14,
        decimal_places=6,
        description="Spending limit in USD; reaching it pauses the stack and asks a person.",
    )
    max_concurrent: int = Field(
        4, ge=1, le=64, strict=True, description="Agent executions of this stack at once."
    )
    auto_start: bool = Field(False, description="Start the stack as soon as it is created.")

    @field_validator("name", "idea")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value, "the value")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "use letters, digits, spaces and _ . - (starting with a letter or digit)"
            )
        return value

    @field_validator("idea")
    @classmethod
    def _idea(cls, value: str | None) -> str | None:
        return (value or "").strip() or None


class ScaleIn(BaseModel):
    """How many agent executions may run at once; 0 holds every stack where it is."""

    model_config = ConfigDict(extra="forbid")

    limit: int | None = Field(
        ge=0,
        le=MAX_SCALE,
        strict=True,
        description="Null: back to the default (the setting globally, no cap of its own "
        "for a stack).",
    )


class BudgetIn(BaseModel):
    """A stack's new spending limit; null: no limit."""

    model_config = ConfigDict(extra="forbid")

    budget_usd: Decimal | None = Field(ge=0, max_digits=14, decimal_places=6)


class BroadcastIn(BaseModel):
    """A message on the broadcast channel every stack's agents read."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_MESSAGE)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        reject_nul(value, "body")
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


# --- answers -------------------------------------------------------------------


class DecisionOut(BaseModel):
    """What a cycle decided, and why."""

    action: str = Field(description="continue, pause, park (budget: waits for a person) or stop.")
    delay_s: float = Field(description="Seconds until the next cycle.")
    reason: str


class StackOut(BaseModel):
    """A stack: its state, team, limits, spending and the last decision."""

    id: str
    name: str
    state: str = Field(description="idle, running, paused or stopped.")
    reason: str | None = Field(description="Why it is in its state: who or what moved it.")
    idea: str | None
    budget_usd: str | None
    cost_usd: str
    max_concurrent: int = Field(description="Agent executions of this stack at once.")
    scale: int | None = Field(description="This stack's scale cap; null: only the global one.")
    run_id: str | None = Field(description="The run executing its cycles.")
    cycles: int
    agents_busy: int = Field(description="Agent executions running now.")
    next_cycle_at: datetime | None
    created_at: datetime
    updated_at: datetime
    actions: list[str] = Field(
        description="The moves its state allows: start, pause, resume, stop."
    )

    @classmethod
    def of(cls, stack: StackRow, busy: int) -> StackOut:
        return cls(
            id=stack.id,
            name=stack.name,
            state=stack.state,
            reason=stack.reason,
            idea=stack.idea,
            budget_usd=decimal_text(stack.budget_usd),
            cost_usd=decimal_text(stack.cost_usd) or "0",
            max_concurrent=stack.max_concurrent,
            scale=stack.scale,
            run_id=stack.run_id,
            cycles=stack.cycles,
            agents_busy=busy,
            next_cycle_at=stack.next_cycle_at,
            created_at=stack.created_at,
            updated_at=stack.updated_at,
            actions=[a.value for a in MoveAction if can_move(stack.state, a)],
        )


class ScaleOut(BaseModel):
    """The global scale control: agent executions at once, per worker process."""

    limit: int
    default: int = Field(description="The setting's value (AGENTDECK_STACK_SCALE).")
    custom: bool = Field(description="Set from the dashboard, API or CLI (else the default).")
    max: int = Field(description="The top of the dashboard's slider.")
    busy: int = Field(description="Agent executions running now in this process.")

    @classmethod
    def of(cls, scale: dict[str, Any]) -> ScaleOut:
        limit = int(scale["scale"])
        default = int(scale["default"])
        return cls(
            limit=limit,
            default=default,
            custom=bool(scale.get("custom")),
            max=max(SLIDER_MAX, 2 * default, limit),
            busy=int(scale.get("in_flight") or 0),
        )


class StacksOut(BaseModel):
    """Every stack, with the counts by state and the scale control."""

    items: list[StackOut]
    counts: dict[str, int]
    scale: ScaleOut


class BulkOut(BaseModel):
    """What a bulk control did."""

    action: BulkAction
    changed: int = Field(description="Stacks whose state changed.")
    ids: list[str]


class AgentActivityOut(BaseModel):
    """The agent filling a role: its last work detection (the cache) and its activity."""

    role: str
    agent: str
    status: str = Field(description="idle, running or failed.")
    priority: int = Field(description="The last detected priority, 0-10.")
    reason: str | None
    detected_at: datetime | None
    last_ran_at: datetime | None
    executions: int
    failures: int
    last_error: str | None
    memory_chars: int
    summaries: int = Field(description="Times its memory was summarised by its model.")

    @classmethod
    def of(cls, agent: StackAgentRow) -> AgentActivityOut:
        return cls(
            role=agent.role,
            agent=agent.agent,
            status=agent.status,
            priority=agent.priority,
            reason=agent.reason,
            detected_at=agent.detected_at,
            last_ran_at=agent.last_ran_at,
            executions=agent.executions,
            failures=agent.failures,
            last_error=agent.last_error,
            memory_chars=len(agent.memory),
            summaries=agent.summaries,
        )


class TodoOut(BaseModel):
    id: str
    title: str
    detail: str | None
    priority: str = Field(description="high, medium or low.")
    status: str = Field(description="pending, in_progress or done.")
    owner: str = Field(description="The role that owns it.")
    cycle: int = Field(description="The cycle that wrote it.")
    done_cycle: int | None
    reviewed: bool
    artifact_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, todo: TodoRow) -> TodoOut:
        return cls(
            id=todo.id,
            title=todo.title,
            detail=todo.detail,
            priority=todo.priority,
            status=todo.status,
            owner=todo.owner_role,
            cycle=todo.cycle,
            done_cycle=todo.done_cycle,
            reviewed=todo.reviewed,
            artifact_id=todo.artifact_id,
            created_at=todo.created_at,
            updated_at=todo.updated_at,
        )


class MessageOut(BaseModel):
    id: int
    stack_id: str | None = Field(description="Null on the broadcast channel.")
    from_stack_id: str | None
    sender: str = Field(description="The role that sent it, or `person`.")
    recipient: str | None = Field(description="A role; null for everyone.")
    kind: str = Field(description="message, recommendation or broadcast.")
    body: str
    cycle: int
    read_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, message: MessageRow) -> MessageOut:
        return cls(
            id=message.id,
            stack_id=message.stack_id,
            from_stack_id=message.from_stack_id,
            sender=message.from_role,
            recipient=message.to_role,
            kind=message.kind,
            body=message.body,
            cycle=message.cycle,
            read_at=message.read_at,
            created_at=message.created_at,
        )


class StackArtifactOut(BaseModel):
    id: str
    name: str
    role: str
    media_type: str
    size: int
    todo_id: str | None
    cycle: int
    reviewed: bool
    created_at: datetime

    @classmethod
    def of(cls, artifact: StackArtifactRow) -> StackArtifactOut:
        return cls(
            id=artifact.id,
            name=artifact.name,
            role=artifact.role,
            media_type=media_type_of(artifact.name),
            size=len(artifact.content.encode()),
            todo_id=artifact.todo_id,
            cycle=artifact.cycle,
            reviewed=artifact.reviewed,
            created_at=artifact.created_at,
        )


class MemoryOut(BaseModel):
    """One agent's memory in a stack: a line per cycle it worked in, summarised when long."""

    role: str
    memory: str
    size: int = Field(description="Characters held.")
    summaries: int


class WorkOut(BaseModel):
    """Work detection for one role: its priority (0: no work, up to 10) and why."""

    role: str
    has_work: bool
    priority: int
    reason: str


class NodeOut(BaseModel):
    """One agent execution of a cycle's graph."""

    role: str
    priority: int
    wave: int
    depends_on: list[str]
    state: str = Field(description="waiting, running, succeeded, failed, skipped or held.")
    error: str | None
    result: str | None
    agent: str | None
    model: str | None
    started_at: datetime | None
    duration_ms: int | None


class CycleOut(BaseModel):
    """One orchestration cycle: detection, the graph run in waves, the decision."""

    number: int
    started_at: datetime
    finished_at: datetime
    duration_s: float
    cost_usd: str
    work: list[WorkOut]
    nodes: list[NodeOut]
    outcome: dict[str, Any] | None = Field(description="What it ran and produced.")
    decision: DecisionOut

    @classmethod
    def of(cls, cycle: CycleRow) -> CycleOut:
        work = [
            WorkOut(
                role=str(w.get("role")),
                has_work=int(w.get("priority") or 0) > 0,
                priority=int(w.get("priority") or 0),
                reason=str(w.get("reason") or ""),
            )
            for w in cycle.work
        ]
        nodes = [
            NodeOut(
                role=str(n.get("role")),
                priority=int(n.get("priority") or 0),
                wave=int(n.get("wave") or 0),
                depends_on=[str(d) for d in n.get("depends_on") or ()],
                state=str(n.get("state") or "waiting"),
                error=n.get("error"),
                result=n.get("result"),
                agent=n.get("agent"),
                model=n.get("model"),
                started_at=n.get("started_at"),
                duration_ms=n.get("duration_ms"),
            )
            for n in cycle.graph
        ]
        return cls(
            number=cycle.number,
            started_at=cycle.started_at,
            finished_at=cycle.finished_at,
            duration_s=(cycle.finished_at - cycle.started_at).total_seconds(),
            cost_usd=decimal_text(cycle.cost_usd) or "0",
            work=work,
            nodes=nodes,
            outcome=cycle.outcome,
            decision=DecisionOut(action=cycle.decision, delay_s=cycle.delay_s, reason=cycle.reason),
        )


def media_type_of(name: str) -> str:
    """Stack artifacts are text; their name says which kind."""
    lower = name.lower()
    if lower.endswith((".md", ".markdown")):
        return "text/markdown"
    if lower.endswith(".json"):
        return "application/json"
    return "text/plain"


def decimal_text(value: Decimal | str | None) -> str | None:
    """A money amount as plain text without exponent: `0.0042`, `5`."""
    if value is None:
        return None
    return f"{Decimal(str(value)).normalize():f}"
