"""Task states of a plan run, the transitions allowed between them, and the named moves.

A task is `pending` until its prerequisites are done, `ready` when it may start (for an
external agent: offered), `assigned` when an agent holds it, `running` while it works,
and ends `completed`, `failed`, `blocked` (waiting for a person), `skipped` or
`cancelled`. A failed or blocked task can become ready again (a retry, a reassignment).

Every change of a stored task is one of the `Move`s below: its sources are the states it
may start from and its route the states it passes through, each step checked against
`TRANSITIONS` when the move is defined, so a move that breaks the state machine cannot
even be declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from agentdeck.domain.errors import IllegalTransition

# The signal a plan run reads its tasks' news from: external agents' reports and
# people's resolutions of blocked tasks.
INBOX = "plan.tasks"
# The gate a plan run waits at when only people can move its blocked tasks on.
REVIEW_GATE = "human review"


class TaskStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    ASSIGNED = "assigned"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """No agent works on it and nothing will, unless a person or a retry revives it."""
        return self in FINISHED

    @property
    def open(self) -> bool:
        """Not yet at an end the plan can move past (blocked and failed tasks still are)."""
        return self not in (TaskStatus.COMPLETED, TaskStatus.SKIPPED, TaskStatus.CANCELLED)


S = TaskStatus
FINISHED = frozenset({S.COMPLETED, S.FAILED, S.SKIPPED, S.CANCELLED})
# states in which an external agent holds the task under a lease
LEASED = frozenset({S.ASSIGNED, S.RUNNING})

TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    # its prerequisites are done; skipped when one of them failed; the run was cancelled
    S.PENDING: frozenset({S.READY, S.SKIPPED, S.CANCELLED}),
    # an agent takes it; held for review (low confidence, nobody picked it up)
    S.READY: frozenset({S.ASSIGNED, S.BLOCKED, S.SKIPPED, S.CANCELLED}),
    # the agent starts; its lease expired and the task returns to the pool
    S.ASSIGNED: frozenset({S.RUNNING, S.READY, S.CANCELLED}),
    S.RUNNING: frozenset({S.COMPLETED, S.FAILED, S.BLOCKED, S.READY, S.CANCELLED}),
    # retried; escalated to a person once its attempts are spent; given up with the plan
    S.FAILED: frozenset({S.READY, S.BLOCKED, S.SKIPPED, S.CANCELLED}),
    # a person retries or reassigns it, marks it done, or skips it
    S.BLOCKED: frozenset({S.READY, S.COMPLETED, S.SKIPPED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.SKIPPED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(current: TaskStatus, target: TaskStatus) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: TaskStatus | str, target: TaskStatus) -> None:
    """Raise IllegalTransition unless `current -> target` is allowed."""
    current = TaskStatus(current)
    if not can_transition(current, target):
        raise IllegalTransition("task", current.value, target.value)


@dataclass(frozen=True)
class Move:
    """A named change of a task: from any of `sources`, through `route`, to its last state."""

    name: str
    sources: frozenset[TaskStatus]
    route: tuple[TaskStatus, ...]

    def __post_init__(self) -> None:
        for source in self.sources:
            check_route(source, self.route)

    @property
    def target(self) -> TaskStatus:
        return self.route[-1]

    def check(self, current: TaskStatus | str) -> None:
        """Raise IllegalTransition unless this move may start from `current`."""
        if TaskStatus(current) not in self.sources:
            raise IllegalTransition("task", str(current), f"{self.target} ({self.name})")


def check_route(source: TaskStatus, route: tuple[TaskStatus, ...]) -> None:
    """Every step of `source -> route[0] -> ...` must be allowed; a source on the route joins it."""
    steps = route[route.index(source) + 1 :] if source in route else route
    current = source
    for target in steps:
        check_transition(current, target)
        current = target


def _move(name: str, sources: set[TaskStatus], *route: TaskStatus) -> Move:
    return Move(name, frozenset(sources), tuple(route))


# --- moves the plan workflow makes ---------------------------------------------------

# its prerequisites are done: an internal agent may start it, or external agents may take it
OFFER = _move("offer", {S.PENDING}, S.READY)
# an internal agent starts a ready task (assigned and running at once)
START = _move("start", {S.READY}, S.ASSIGNED, S.RUNNING)
FINISH = _move("finish", {S.RUNNING}, S.COMPLETED)
FAIL = _move("fail", {S.RUNNING}, S.FAILED)
# a new attempt of a failed task, or a person's retry or reassignment of a blocked one
RETRY = _move("retry", {S.FAILED, S.BLOCKED}, S.READY)
# held for a person: low confidence before it starts, or its attempts are spent
HOLD = _move("hold", {S.READY, S.FAILED}, S.BLOCKED)
# a person lets a task held before it ever ran go ahead (same attempt)
RELEASE_HOLD = _move("approve", {S.BLOCKED}, S.READY)
# a person marks a blocked task done, with a note
MARK_DONE = _move("mark_done", {S.BLOCKED}, S.COMPLETED)
# a person skips a blocked task, or a prerequisite failed for good
SKIP = _move("skip", {S.PENDING, S.READY, S.BLOCKED, S.FAILED}, S.SKIPPED)

# --- moves of the external-agent protocol --------------------------------------------

CLAIM = _move("claim", {S.READY}, S.ASSIGNED)
REPORT_RUNNING = _move("running", {S.ASSIGNED}, S.RUNNING)
REPORT_COMPLETED = _move("completed", {S.ASSIGNED, S.RUNNING}, S.RUNNING, S.COMPLETED)
REPORT_FAILED = _move("failed", {S.ASSIGNED, S.RUNNING}, S.RUNNING, S.FAILED)
REPORT_BLOCKED = _move("blocked", {S.ASSIGNED, S.RUNNING}, S.RUNNING, S.BLOCKED)
# the lease expired, the agent became unreachable or was revoked: back to the pool
RETURN = _move("return", {S.ASSIGNED, S.RUNNING}, S.READY)
# nobody picked it up in time, or its lease expired too often
ESCALATE_OFFER = _move("no_pickup", {S.READY}, S.BLOCKED)
ESCALATE_LEASE = _move("lease_expired", {S.ASSIGNED, S.RUNNING}, S.READY, S.BLOCKED)
# the run ended (cancelled, failed) with the task still open
CANCEL = _move(
    "cancel", {S.PENDING, S.READY, S.ASSIGNED, S.RUNNING, S.BLOCKED, S.FAILED}, S.CANCELLED
)

MOVES = (
    OFFER,
    START,
    FINISH,
    FAIL,
    RETRY,
    HOLD,
    RELEASE_HOLD,
    MARK_DONE,
    SKIP,
    CLAIM,
    REPORT_RUNNING,
    REPORT_COMPLETED,
    REPORT_FAILED,
    REPORT_BLOCKED,
    RETURN,
    ESCALATE_OFFER,
    ESCALATE_LEASE,
    CANCEL,
)


def group_status(children: list[TaskStatus]) -> TaskStatus:
    """The status a task with subtasks shows: a summary of its subtasks' statuses."""
    present = set(children)
    if not present:
        return S.PENDING
    if present <= {S.COMPLETED, S.SKIPPED}:
        return S.COMPLETED if S.COMPLETED in present else S.SKIPPED
    if present <= FINISHED:
        return S.FAILED if S.FAILED in present else S.CANCELLED
    for status in (S.BLOCKED, S.RUNNING, S.ASSIGNED):
        if status in present:
            return S.RUNNING if status == S.ASSIGNED else status
    if present & FINISHED:
        return S.RUNNING  # some parts done, the rest not started: under way
    return S.READY if S.READY in present else S.PENDING


class Executor(StrEnum):
    """Who carries a task out."""

    INTERNAL = "internal"  # an agent of this deck, inside the run
    EXTERNAL = "external"  # a remote program that polls the API for work


class Resolution(StrEnum):
    """What a person decides for a blocked task."""

    RETRY = "retry"  # run it again (or, held before it ran, let it run)
    REASSIGN = "reassign"  # run it again with another agent
    DONE = "done"  # mark it completed, with a note
    SKIP = "skip"  # skip it; its dependents go ahead


@dataclass(frozen=True)
class TaskWrite:
    """One change the plan workflow makes to a stored task.

    Applied only where the row still is where the move starts, at `from_attempt`, and
    has seen fewer of the workflow's changes than `revision`: a replayed run repeats
    its writes, and each lands at most once. `event` is recorded only if it landed.
    """

    task_id: str
    move: Move
    attempt: int
    from_attempt: int
    revision: int
    values: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A stored task."""

    id: str
    run_id: str
    key: str
    parent_key: str | None
    position: int
    depth: int
    is_group: bool
    title: str
    description: str | None
    role: str
    prerequisites: list[str] | None
    confidence: float | None
    needs_review: bool
    status: str
    attempt: int
    revision: int
    executor: str | None
    agent: str | None
    target_agent: str | None
    inputs: Any
    output: Any
    error: str | None
    reason: str | None
    progress: float | None
    lease_id: str | None
    lease_expires_at: datetime | None
    lease_expirations: int
    available_at: datetime | None
    pickup_deadline_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime
