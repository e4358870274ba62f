"""How a run executes its plan: the policy read from its inputs, and what it knows of each task
(a `Leaf`) and of each internal attempt (an `Outcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.plans import Node
from agentdeck.domain.tasks import (
    Executor,
    TaskStatus,
)

OUTPUT_LIMIT = 100_000  # characters of an answer kept with its task
CONTEXT_LIMIT = 4_000  # characters of a prerequisite's result shown to its dependents
PROGRESS_INTERVAL = 0.5  # seconds between progress writes while tasks run
S = TaskStatus


class OnFailure(StrEnum):
    SKIP_DEPENDENTS = "skip_dependents"
    ASK_HUMAN = "ask_human"


class Dispatch(StrEnum):
    AUTO = "auto"
    INTERNAL = "internal"
    EXTERNAL = "external"


class PlanFailed(AgentdeckError):
    """Some tasks failed for good; the message names them and what was skipped."""


@dataclass(frozen=True)
class Policy:
    """How a run executes its plan (from its inputs)."""

    agents: dict[str, str]  # role -> internal agent
    max_parallel: int = 10
    max_attempts: int = 3
    retry_interval: float = 2.0
    on_failure: OnFailure = OnFailure.SKIP_DEPENDENTS
    review_threshold: float = 0.5
    pickup_timeout: float = 600.0
    dispatch: Dispatch = Dispatch.AUTO


@dataclass
class Leaf:
    """What the run knows of one unit of work."""

    node: Node
    id: str
    status: TaskStatus = S.PENDING
    attempt: int = 0
    tries: int = 0  # attempts since a person last retried it
    revision: int = 0
    executor: Executor | None = None
    agent: str | None = None
    target: str | None = None  # the external agent a person reassigned it to
    waiting: int = 0  # prerequisites not yet satisfied
    satisfied: bool = False  # done in a way that lets its dependents start
    reviewed: bool = False  # a person let it run despite its low confidence
    held: bool = False  # blocked before it ran (review), not after it failed
    output: str | None = None
    note: str | None = None  # a person's comment, shown to the next attempt
    error: str | None = None

    @property
    def key(self) -> str:
        return self.node.key


@dataclass(frozen=True)
class Outcome:
    """How one internal attempt ended."""

    key: str
    attempt: int
    ok: bool
    text: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retryable: bool = True


def offered_outside(leaf: Leaf) -> bool:
    return leaf.status == S.READY and leaf.executor == Executor.EXTERNAL


def clip(text: str | None, n: int) -> str:
    text = text or ""
    return text if len(text) <= n else text[: n - 1] + "…"


def nothing() -> None:
    return None
