"""What the store gives back about stacks: the stack, its agents, todos, messages,
artifacts and cycles, as plain values the Deck, the API and the workflow share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class StackRow:
    id: str
    name: str
    idea: str | None
    state: str
    reason: str | None
    budget_usd: Decimal | None
    max_concurrent: int
    scale: int | None
    run_id: str | None
    cycles: int
    idle_cycles: int
    stalled_cycles: int
    fingerprint: str | None
    broadcast_cursor: int
    cost_usd: Decimal
    next_cycle_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StackAgentRow:
    """The agent filling a role, its last detection (the cache), activity and memory."""

    stack_id: str
    role: str
    agent: str
    status: str
    priority: int
    reason: str | None
    detected_at: datetime | None
    last_ran_at: datetime | None
    executions: int
    failures: int
    last_error: str | None
    memory: str
    summaries: int


@dataclass(frozen=True)
class TodoRow:
    id: str
    stack_id: str
    title: str
    detail: str | None
    priority: str
    status: str
    owner_role: str
    cycle: int
    done_cycle: int | None
    reviewed: bool
    artifact_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MessageRow:
    id: int
    stack_id: str | None
    from_stack_id: str | None
    from_role: str
    to_role: str | None
    kind: str
    body: str
    cycle: int
    read_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class StackArtifactRow:
    id: str
    stack_id: str
    todo_id: str | None
    role: str
    name: str
    content: str
    cycle: int
    reviewed: bool
    created_at: datetime


@dataclass(frozen=True)
class CycleRow:
    """One orchestration cycle: work detected, the graph and its nodes, the decision."""

    id: int
    stack_id: str
    number: int
    work: list[dict[str, Any]]
    graph: list[dict[str, Any]]
    outcome: dict[str, Any] | None
    decision: str
    delay_s: float
    reason: str
    cost_usd: Decimal
    started_at: datetime
    finished_at: datetime
