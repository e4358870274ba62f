"""The JSON shapes of what a stack holds and did: its agents (activity and latest work
detection), todos, messages, artifacts, memory, and cycles (work detected per role, the
execution graph's nodes, the decision and its reason)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from agentdeck.domain.stack_rows import (
    CycleRow,
    MessageRow,
    StackAgentRow,
    StackArtifactRow,
    TodoRow,
)
from agentdeck.web.schemas.stacks import decimal_text, media_type_of


class DecisionOut(BaseModel):
    """What a cycle decided, and why."""

    action: str = Field(description="continue, pause, park (budget: waits for a person) or stop.")
    delay_s: float = Field(description="Seconds until the next cycle.")
    reason: str


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
