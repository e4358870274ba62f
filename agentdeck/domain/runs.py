"""Run states and the transitions allowed between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from agentdeck.domain.errors import IllegalTransition


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


class WaitKind(StrEnum):
    """What a waiting run waits for."""

    GATE = "gate"
    SIGNAL = "signal"
    TIMER = "timer"


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})

S = RunStatus
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    # claimed by a worker; paused or cancelled before it starts
    S.QUEUED: frozenset({S.RUNNING, S.PAUSED, S.CANCELLED}),
    # finishes; parks at a gate, signal or timer; parks on pause; goes back to the
    # queue when its lease expires or its worker stops
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.WAITING, S.PAUSED, S.QUEUED}),
    S.WAITING: frozenset({S.QUEUED, S.PAUSED, S.CANCELLED}),
    S.PAUSED: frozenset({S.QUEUED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(current: RunStatus, target: RunStatus) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: RunStatus | str, target: RunStatus) -> None:
    """Raise IllegalTransition unless `current -> target` is allowed."""
    current = RunStatus(current)
    if not can_transition(current, target):
        raise IllegalTransition("run", current.value, target.value)


def sources_of(target: RunStatus) -> frozenset[RunStatus]:
    """Every state from which `target` can be reached; used in guarded UPDATEs."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True, slots=True)
class Run:
    """A run as stored: what it is, where it stands, who holds it."""

    id: str
    workflow: str
    status: str
    inputs: dict[str, Any]
    result: Any
    error: str | None
    priority: int
    due_at: datetime
    idempotency_key: str | None
    wait_kind: str | None
    waiting_on: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    lease_epoch: int
    lease_expires_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested_at: datetime | None
    pause_requested_at: datetime | None
    retry_of: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime
    stage: str | None
    attempt: int | None
    score: float | None
    verdict: str | None
    progress: float | None
    agents: list[str] | None
    cost_usd: Decimal
    cost_unknown: bool
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    # runs sharing a key never exceed the limit running at once; None: no key
    concurrency_key: str | None = None
    concurrency_limit: int | None = None

    def is_stalled(self, now: datetime, stalled_after: timedelta) -> bool:
        """A running run whose heartbeat is older than `stalled_after`."""
        return (
            self.status == RunStatus.RUNNING
            and self.heartbeat_at is not None
            and now - self.heartbeat_at > stalled_after
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """What a worker gets when it claims a run: just enough to execute it."""

    id: str
    workflow: str
    inputs: dict[str, Any]
    priority: int
    lease_epoch: int
    pause_requested_at: datetime | None
    concurrency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """A journaled step result."""

    run_id: str
    key: str
    status: str
    result: Any
    error: str | None
    attempts: int
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a run's append-only log; `id` orders all events of all runs."""

    id: int
    run_id: str
    kind: str
    message: str | None
    data: Any
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Artifact:
    """Content a run produced."""

    id: str
    run_id: str
    name: str
    media_type: str
    content: str
    attempt: int | None
    size: int
    created_at: datetime


@dataclass(frozen=True)
class RunFilter:
    """What `list_runs` narrows to; every field is optional."""

    statuses: tuple[str, ...] = ()
    workflow: str | None = None
    agent: str | None = None
    retry_of: str | None = None
    text: str | None = None
