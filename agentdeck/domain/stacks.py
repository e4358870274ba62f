"""Stacks: their states, roles, work detection, execution graph, waves and the cycle's decision.

A stack is a long-lived team of role agents sharing a project idea, todos, messages,
artifacts and per-agent memory. Each orchestration cycle detects which roles have work
(`detect`, priorities 0 to 10 as seed 001 lists them), orders them into a graph
(`build_graph`: planner before builder, reviewer after builder), runs it in `waves`,
and `decide`s: continue at once, pause 1 / 5 / 10 s, park (budget) or stop.
Everything here is pure: no I/O, time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from agentdeck.domain.errors import IllegalTransition


class StackState(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class StackAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


# action → (states it may start from, state it leads to)
MOVES: dict[StackAction, tuple[frozenset[StackState], StackState]] = {
    StackAction.START: (frozenset({StackState.IDLE, StackState.STOPPED}), StackState.RUNNING),
    StackAction.PAUSE: (frozenset({StackState.RUNNING}), StackState.PAUSED),
    StackAction.RESUME: (frozenset({StackState.PAUSED}), StackState.RUNNING),
    StackAction.STOP: (
        frozenset({StackState.IDLE, StackState.RUNNING, StackState.PAUSED}),
        StackState.STOPPED,
    ),
}


def can_move(state: str, action: StackAction) -> bool:
    return StackState(state) in MOVES[action][0]


def move(state: str, action: StackAction) -> StackState:
    """The state `action` leads to from `state`; IllegalTransition (409) when it may not."""
    sources, target = MOVES[action]
    if StackState(state) not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise IllegalTransition("the stack", state, f"{target} by {action} (only from {allowed})")
    return target


class Role(StrEnum):
    PLANNER = "planner"
    BUILDER = "builder"
    COMMUNICATOR = "communicator"
    REVIEWER = "reviewer"


ROLES: tuple[Role, ...] = tuple(Role)


class TodoStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class TodoPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


PRIORITY_RANK = {TodoPriority.LOW: 0, TodoPriority.MEDIUM: 1, TodoPriority.HIGH: 2}
# todo status → the statuses it may move to
TODO_MOVES: dict[TodoStatus, frozenset[TodoStatus]] = {
    TodoStatus.PENDING: frozenset({TodoStatus.IN_PROGRESS}),
    TodoStatus.IN_PROGRESS: frozenset({TodoStatus.DONE, TodoStatus.PENDING}),
    TodoStatus.DONE: frozenset(),
}


def check_todo_move(current: str, target: str) -> None:
    if TodoStatus(target) not in TODO_MOVES[TodoStatus(current)]:
        raise IllegalTransition("the todo", current, target)


class MessageKind(StrEnum):
    MESSAGE = "message"
    RECOMMENDATION = "recommendation"
    BROADCAST = "broadcast"


# --- work detection ---------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What work detection reads of a stack, counted by the store."""

    idea: str | None
    pending: int = 0
    # pending or in progress, by priority
    pending_high: int = 0
    pending_medium: int = 0
    in_progress: int = 0
    done_unreviewed: int = 0
    artifacts_unreviewed: int = 0
    recommendations_unread: int = 0
    # unread direct messages to the communicator plus other stacks' broadcasts
    messages_unread: int = 0
    last_ran_at: Mapping[str, datetime | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Work:
    """One role's detected work: priority 0 (none) to 10, and why."""

    role: Role
    priority: int
    reason: str

    @property
    def has_work(self) -> bool:
        return self.priority > 0


def _due(snapshot: Snapshot, role: Role, now: datetime, interval: timedelta) -> str | None:
    """The periodic rule's reason when the role has not run for `interval`, else None."""
    last = snapshot.last_ran_at.get(role)
    if last is None:
        return "periodic check, never ran"
    waited = (now - last).total_seconds()
    if waited >= interval.total_seconds():
        return f"periodic check, last ran {waited:.0f} s ago"
    return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def detect(snapshot: Snapshot, role: Role, now: datetime, periodic: timedelta) -> Work:
    """The highest-priority rule of seed 001 that holds for `role`, with its reason."""
    found: tuple[int, str] | None = None
    s = snapshot
    if role == Role.PLANNER:
        if not (s.idea and s.idea.strip()):
            found = (10, "no project idea")
        elif s.pending + s.in_progress == 0:
            found = (9, "no open todos")
        elif s.recommendations_unread:
            found = (8, f"{_plural(s.recommendations_unread, 'reviewer recommendation')}")
        elif reason := _due(s, role, now, periodic):
            found = (4, reason)
    elif role == Role.BUILDER:
        # between cycles nothing executes: a todo still in progress was cut short (a
        # crash, a pause, a failed build) and is the builder's to finish
        todo = s.pending + s.in_progress
        if s.pending_high:
            found = (8, f"{_plural(todo, 'pending todo')}, highest priority high")
        elif todo:
            top = TodoPriority.MEDIUM if s.pending_medium else TodoPriority.LOW
            found = (6, f"{_plural(todo, 'pending todo')}, highest priority {top}")
    elif role == Role.COMMUNICATOR:
        if s.messages_unread:
            found = (7, f"{_plural(s.messages_unread, 'unread message')}")
        elif reason := _due(s, role, now, periodic):
            found = (3, f"periodic broadcast: {reason}")
    elif role == Role.REVIEWER:
        if s.done_unreviewed:
            found = (6, f"{_plural(s.done_unreviewed, 'completed todo')} to review")
        elif s.artifacts_unreviewed:
            found = (6, f"{_plural(s.artifacts_unreviewed, 'new artifact')} to review")
        elif reason := _due(s, role, now, periodic):
            found = (4, reason)
    if found is None:
        return Work(role, 0, f"{role}: no work → 0")
    return Work(role, found[0], f"{role}: {found[1]} → {found[0]}")


def detect_all(
    snapshot: Snapshot, now: datetime, periodic: timedelta, roles: Iterable[Role] = ROLES
) -> list[Work]:
    return [detect(snapshot, role, now, periodic) for role in roles]


# --- the execution graph --------------------------------------------------------

# role → the roles it runs after, when they run in the same cycle
DEPENDENCIES: dict[Role, tuple[Role, ...]] = {
    Role.BUILDER: (Role.PLANNER,),
    Role.REVIEWER: (Role.BUILDER,),
}


@dataclass(frozen=True)
class Node:
    """An agent execution of a cycle's graph."""

    role: Role
    priority: int
    reason: str
    depends_on: tuple[Role, ...] = ()


def build_graph(works: Iterable[Work]) -> list[Node]:
    """Nodes for the roles with work, highest priority first, with their dependencies."""
    busy = sorted(
        (w for w in works if w.has_work), key=lambda w: (-w.priority, ROLES.index(w.role))
    )
    present = {w.role for w in busy}
    return [
        Node(
            w.role,
            w.priority,
            w.reason,
            tuple(d for d in DEPENDENCIES.get(w.role, ()) if d in present),
        )
        for w in busy
    ]


def waves(nodes: Iterable[Node]) -> list[list[Node]]:
    """Nodes grouped so that each runs after every node it depends on; priority order inside."""
    left = list(nodes)
    done: set[Role] = set()
    out: list[list[Node]] = []
    while left:
        ready = [n for n in left if set(n.depends_on) <= done]
        if not ready:
            raise ValueError("the graph has a dependency cycle or an unknown dependency")
        out.append(ready)
        done |= {n.role for n in ready}
        left = [n for n in left if n.role not in done]
    return out


# --- the decision after a cycle -----------------------------------------------------


class Action(StrEnum):
    CONTINUE = "continue"  # start the next cycle at once
    PAUSE = "pause"  # start it after `delay`; the stack stays running
    PARK = "park"  # the stack is paused and waits for a person (budget reached)
    STOP = "stop"  # the stack is stopped


@dataclass(frozen=True)
class Limits:
    """The thresholds a decision applies (settings, per deck)."""

    stop_after_idle: int = 3
    stall_limit: int = 5


@dataclass(frozen=True)
class Outcome:
    """What a finished cycle did, as the decision reads it."""

    ran: int  # nodes executed
    held: int = 0  # nodes with work that found no slot of the pool (the scale control)
    new_todos: int = 0
    new_artifacts: int = 0
    new_messages: int = 0
    # the same output as the cycle before (a loop), by the fingerprint of the outputs
    repeated: bool = False
    budget_reached: bool = False

    @property
    def produced(self) -> bool:
        return bool(self.new_todos or self.new_artifacts or self.new_messages) and not self.repeated


@dataclass(frozen=True)
class Counters:
    """Cycles in a row with no work at all (idle) and with no new output (stalled)."""

    idle: int = 0
    stalled: int = 0


@dataclass(frozen=True)
class Decision:
    action: Action
    delay: timedelta
    reason: str
    counters: Counters


def pause_for(priority: int) -> timedelta:
    """The adaptive pause: high-priority work waits 1 s, medium 5 s, low or none 10 s."""
    if priority >= 8:
        return timedelta(seconds=1)
    if priority >= 5:
        return timedelta(seconds=5)
    return timedelta(seconds=10)


def decide(
    outcome: Outcome, remaining: Iterable[Work], before: Counters, limits: Limits
) -> Decision:
    """Continue, pause, park or stop after a cycle, with the reason stored beside it."""
    idle = before.idle + 1 if outcome.ran == 0 and outcome.held == 0 else 0
    stalled = 0 if outcome.produced else before.stalled + (1 if outcome.ran else 0)
    counters = Counters(idle, stalled)
    zero = timedelta(0)
    if outcome.budget_reached:
        return Decision(Action.PARK, zero, "budget reached: the stack waits for a person", counters)
    if idle >= limits.stop_after_idle:
        return Decision(Action.STOP, zero, f"nothing to do for {_plural(idle, 'cycle')}", counters)
    if stalled >= limits.stall_limit:
        why = "the same output again" if outcome.repeated else "no new todos, artifacts or messages"
        return Decision(
            Action.STOP, zero, f"stalled: {why} for {_plural(stalled, 'cycle')}", counters
        )
    top = max((w.priority for w in remaining), default=0)
    if outcome.produced and top >= 5:
        made = ", ".join(
            _plural(n, word)
            for n, word in (
                (outcome.new_todos, "todo"),
                (outcome.new_artifacts, "artifact"),
                (outcome.new_messages, "message"),
            )
            if n
        )
        return Decision(
            Action.CONTINUE,
            zero,
            f"the cycle created new work ({made}); next priority {top}",
            counters,
        )
    delay = pause_for(top)
    why = f"highest remaining priority {top}" if top else "no work left now"
    return Decision(Action.PAUSE, delay, f"{why} → pause {delay.total_seconds():.0f} s", counters)


# --- memory -------------------------------------------------------------------------


def remember(memory: str, entry: str) -> str:
    """The memory with one more entry (a line per cycle an agent worked in)."""
    entry = " ".join(entry.split())
    return f"{memory}\n{entry}".strip() if memory else entry


def over_limit(memory: str, limit: int) -> bool:
    return len(memory) > limit


def clip_memory(memory: str, limit: int) -> str:
    """Keep the newest `limit` characters: the bound holds even if a summary is too long."""
    if len(memory) <= limit:
        return memory
    return "…" + memory[len(memory) - limit + 1 :]
