"""The JSON shapes of stacks: creating and steering one, a stack, the list, the scale
control and the bulk moves (what a stack holds and did is in stack_board.py)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentdeck.domain.stack_rows import StackRow
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
