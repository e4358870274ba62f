"""The JSON shapes of stacks: creating one, a stack, its todos, messages, artifacts,
memory and cycles (work detected, the execution graph, the decision and its reason)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentdeck.web.schemas.common import reject_nul

STACK_ROLES = ("planner", "builder", "communicator", "reviewer")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")
MAX_IDEA = 4000
MAX_MESSAGE = 4000

StackAction = Literal["start", "pause", "resume", "stop"]
BulkAction = Literal["start-all", "pause-all", "stop-all"]

# --- requests ----------------------------------------------------------------


class StackRolesIn(BaseModel):
    """Which agent fills each role: a stored agent or one of agents.yaml (null: the default)."""

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
    roles: StackRolesIn = Field(
        default_factory=StackRolesIn,
        description="The agent of each role (planner, builder, communicator, reviewer).",
    )
    budget_usd: Decimal | None = Field(
        None,
        ge=0,
        max_digits=12,
        decimal_places=6,
        description="Spending limit in USD; reaching it pauses the stack and asks a person.",
    )
    max_concurrent: int | None = Field(
        None, ge=0, le=1000, description="Agent executions of this stack at once (null: default)."
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

    limit: int = Field(ge=0, le=100_000, strict=True)


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

    action: str = Field(description="continue, pause or stop.")
    pause_s: float | None = Field(description="Seconds until the next cycle, for a pause.")
    reason: str


class StackOut(BaseModel):
    """A stack: its state, team, limits, spending and the last decision."""

    id: str
    name: str
    state: str = Field(description="idle, running, paused or stopped.")
    state_reason: str | None = Field(description="Why it was paused or stopped, if it says.")
    idea: str | None
    roles: dict[str, str] = Field(description="role -> agent name.")
    budget_usd: str | None
    cost_usd: str
    max_concurrent: int | None
    cycles: int
    agents_busy: int = Field(description="Agent executions running now.")
    created_at: datetime
    updated_at: datetime | None
    last_decision: DecisionOut | None
    actions: list[StackAction] = Field(description="The controls its state allows.")


class StacksOut(BaseModel):
    """Every stack, with the counts by state and the scale control."""

    items: list[StackOut]
    counts: dict[str, int]
    scale: ScaleOut


class ScaleOut(BaseModel):
    """The global scale control: agent executions at once across all stacks."""

    limit: int
    max: int = Field(description="The top of the dashboard's slider.")
    busy: int = Field(description="Agent executions running now.")


class BulkOut(BaseModel):
    """What a bulk control did."""

    action: BulkAction
    changed: int = Field(description="Stacks whose state changed.")


class TodoOut(BaseModel):
    id: str
    title: str
    priority: str
    status: str = Field(description="pending, in_progress or done.")
    owner: str | None = Field(description="The role that owns it.")
    created_at: datetime | None
    updated_at: datetime | None


class MessageOut(BaseModel):
    id: str
    sender: str
    recipient: str | None = Field(description="A role; null on the broadcast channel.")
    subject: str | None
    body: str
    read_by: list[str]
    stack_id: str | None
    created_at: datetime


class StackArtifactOut(BaseModel):
    id: str
    name: str
    role: str | None
    media_type: str
    size: int
    todo_id: str | None
    created_at: datetime


class MemoryOut(BaseModel):
    """One agent's memory in a stack: a summary of older entries, then the recent ones."""

    role: str
    summary: str | None
    entries: list[str]
    size: int = Field(description="Characters held.")


class WorkOut(BaseModel):
    """Work detection for one role: whether it has work, at which priority (0-10), why."""

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
    state: str = Field(description="pending, running, completed, failed or skipped.")
    error: str | None
    duration_s: float | None


class CycleOut(BaseModel):
    """One orchestration cycle: detection, the graph run in waves, the decision."""

    number: int
    run_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    cost_usd: str
    work: list[WorkOut]
    nodes: list[NodeOut]
    decision: DecisionOut | None


StacksOut.model_rebuild()


def decimal_text(value: Decimal | str | None) -> str | None:
    """A money amount as plain text without exponent: `0.0042`, `5`."""
    if value is None:
        return None
    return f"{Decimal(str(value)).normalize():f}"
