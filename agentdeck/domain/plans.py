"""Plans: tasks with prerequisites and subtasks, checked into a graph that can be executed.

A plan is a tree of tasks (each may have subtasks) plus prerequisite edges between any
two tasks. The leaves are the units of work; a task with subtasks is done when all of
them are, and its prerequisites apply to every subtask. `check_plan` refuses a plan with
duplicate ids, unknown prerequisites or a cycle, naming every offender, before anything
is created.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from agentdeck.domain.errors import InvalidInput

TaskId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$",
        description="Unique in the plan: letters, digits, `_`, `.`, `-`; up to 60 characters.",
        examples=["T1", "T1.2", "research"],
    ),
]
MAX_TASKS = 10_000
MAX_DEPTH = 5


class PlanTask(BaseModel):
    """One task of a plan; its subtasks have the same shape."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: TaskId
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    role: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_-]{0,59}$",
        description="Who does it: an internal agent of this role, or an external agent with "
        "this capability. Subtasks inherit their task's role; the default is `executor`.",
    )
    prerequisites: list[TaskId] = Field(
        default_factory=list,
        validation_alias=AliasChoices("prerequisites", "depends_on", "dependencies"),
        description="Ids of the tasks that must be done before this one starts.",
    )
    subtasks: list[PlanTask] = Field(default_factory=list)
    confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="How surely an agent can do it alone (0..1); below the run's review "
        "threshold a person reviews it before it runs. Subtasks inherit it; default 1.",
    )
    agent: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="The internal agent to run it, instead of the one chosen by role.",
    )
    assignee: Literal["auto", "internal", "external"] | None = Field(
        None,
        description="Who runs it: `internal` agents, `external` agents (they poll for "
        "work), or `auto` (external when one with the capability is registered).",
    )
    max_attempts: int | None = Field(None, ge=1, le=20)
    estimate_hours: float | None = Field(None, ge=0)
    phase: str | None = Field(None, max_length=100)


class Plan(BaseModel):
    """A plan: a title, a summary, and its tasks."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str = Field("Plan", max_length=300)
    summary: str = Field("", max_length=20_000)
    tasks: list[PlanTask] = Field(min_length=1)


@dataclass(frozen=True)
class Node:
    """A task of a checked plan, with what it inherits from its ancestors resolved."""

    key: str
    title: str
    description: str
    role: str
    confidence: float
    agent: str | None
    assignee: str
    max_attempts: int | None
    parent: str | None
    depth: int
    position: int
    prerequisites: tuple[str, ...]  # its own, as written
    children: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        return bool(self.children)


@dataclass(frozen=True)
class TaskGraph:
    """A checked plan: every task by id, in plan order, and the leaves' effective prerequisites.

    `needs[leaf]` are the leaves that must be done before `leaf` starts: its own
    prerequisites and its ancestors', each expanded to the leaves under it.
    """

    plan: Plan
    nodes: dict[str, Node]
    leaves: tuple[str, ...]
    needs: dict[str, frozenset[str]]

    def dependents(self) -> dict[str, list[str]]:
        """leaf -> the leaves waiting for it, in plan order."""
        out: dict[str, list[str]] = {leaf: [] for leaf in self.leaves}
        for leaf in self.leaves:
            for need in sorted(self.needs[leaf], key=lambda k: self.nodes[k].position):
                out[need].append(leaf)
        return out

    def layers(self) -> dict[str, int]:
        """Every task's layer: 0 without prerequisites, else one more than its deepest need."""
        layer: dict[str, int] = {}
        for leaf in self.leaves:  # plan order is not topological: walk each chain
            _layer_of(leaf, self.needs, layer)
        for key in sorted(self.nodes, key=lambda k: -self.nodes[k].depth):
            node = self.nodes[key]
            if node.is_group:
                layer[key] = min(layer[c] for c in node.children)
        return layer

    def ancestors(self, key: str) -> Iterator[str]:
        parent = self.nodes[key].parent
        while parent is not None:
            yield parent
            parent = self.nodes[parent].parent


def _layer_of(leaf: str, needs: dict[str, frozenset[str]], layer: dict[str, int]) -> int:
    stack = [leaf]
    while stack:
        key = stack[-1]
        if key in layer:
            stack.pop()
            continue
        missing = [n for n in needs[key] if n not in layer]
        if missing:
            stack.extend(missing)
            continue
        layer[key] = 1 + max((layer[n] for n in needs[key]), default=-1)
        stack.pop()
    return layer[leaf]


class InvalidPlan(InvalidInput):
    """A plan that cannot be executed; the message names every problem found."""

    def __init__(self, problems: list[str], field: str = "plan") -> None:
        super().__init__("; ".join(problems), field=field)
        self.problems = problems


def parse_plan(data: Any, *, field: str = "plan") -> Plan:
    """Validate plan JSON (an object with `tasks`, or a list of tasks); InvalidPlan if bad."""
    if isinstance(data, list):
        data = {"tasks": data}
    if not isinstance(data, dict):
        raise InvalidPlan(["a plan must be a JSON object with `tasks`, or a list of tasks"], field)
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors()[:5]:
            where = _where(problem["loc"])
            kind = problem["type"]
            reason = "is not a known field" if kind == "extra_forbidden" else problem["msg"]
            problems.append(f"{where}: {reason}" if where else str(reason))
        raise InvalidPlan(problems, field) from None


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_plan(plan: Plan, *, field: str = "plan") -> TaskGraph:
    """The plan's graph; InvalidPlan naming duplicate ids, unknown prerequisites and cycles."""
    nodes: dict[str, Node] = {}
    counts: dict[str, int] = {}
    problems: list[str] = []
    flat = list(_walk(plan.tasks, None, 0, None))
    if len(flat) > MAX_TASKS:
        raise InvalidPlan([f"a plan may have at most {MAX_TASKS} tasks, not {len(flat)}"], field)
    for task, parent, depth, inherited in flat:
        counts[task.id] = counts.get(task.id, 0) + 1
        if depth >= MAX_DEPTH:
            problems.append(f"task {task.id} is nested deeper than {MAX_DEPTH} levels")
        if task.id in nodes:
            continue
        nodes[task.id] = Node(
            key=task.id,
            title=task.title,
            description=task.description,
            role=task.role or inherited.role or "executor",
            confidence=_first(task.confidence, inherited.confidence, 1.0),
            agent=task.agent or inherited.agent,
            assignee=task.assignee or inherited.assignee or "auto",
            max_attempts=task.max_attempts or inherited.max_attempts,
            parent=parent,
            depth=depth,
            position=len(nodes),
            prerequisites=tuple(dict.fromkeys(task.prerequisites)),
            children=tuple(s.id for s in task.subtasks),
        )
    duplicates = [f"{k} ({n} times)" for k, n in counts.items() if n > 1]
    if duplicates:
        problems.append(f"duplicate task ids: {', '.join(duplicates)}")
    unknown = [
        f"{node.key} -> {p}"
        for node in nodes.values()
        for p in node.prerequisites
        if p not in nodes
    ]
    if unknown:
        problems.append(f"unknown prerequisites: {', '.join(unknown)}")
    if problems:
        raise InvalidPlan(problems, field)
    cycles = _cycles(nodes)
    if cycles:
        shown = ["; ".join(" -> ".join(c) for c in cycles[:5])]
        more = f" (and {len(cycles) - 5} more)" if len(cycles) > 5 else ""
        raise InvalidPlan([f"prerequisites form a cycle: {shown[0]}{more}"], field)
    leaves = tuple(k for k, n in nodes.items() if not n.is_group)
    under = _leaves_under(nodes)
    needs: dict[str, frozenset[str]] = {}
    for leaf in leaves:
        required: set[str] = set()
        for key in (leaf, *_ancestors(nodes, leaf)):
            for p in nodes[key].prerequisites:
                required |= under[p]
        needs[leaf] = frozenset(required)
    return TaskGraph(plan, nodes, leaves, needs)


@dataclass(frozen=True)
class _Inherited:
    role: str | None = None
    confidence: float | None = None
    agent: str | None = None
    assignee: str | None = None
    max_attempts: int | None = None


def _walk(
    tasks: list[PlanTask], parent: str | None, depth: int, inherited: _Inherited | None
) -> Iterator[tuple[PlanTask, str | None, int, _Inherited]]:
    inherited = inherited or _Inherited()
    for task in tasks:
        yield task, parent, depth, inherited
        passed = _Inherited(
            task.role or inherited.role,
            _first(task.confidence, inherited.confidence, None),
            task.agent or inherited.agent,
            task.assignee or inherited.assignee,
            task.max_attempts or inherited.max_attempts,
        )
        if depth < MAX_DEPTH:
            yield from _walk(task.subtasks, task.id, depth + 1, passed)


def _first(*values: float | None) -> Any:
    return next((v for v in values if v is not None), None)


def _ancestors(nodes: dict[str, Node], key: str) -> Iterator[str]:
    parent = nodes[key].parent
    while parent is not None:
        yield parent
        parent = nodes[parent].parent


def _leaves_under(nodes: dict[str, Node]) -> dict[str, frozenset[str]]:
    under: dict[str, frozenset[str]] = {}
    for key in sorted(nodes, key=lambda k: -nodes[k].depth):
        node = nodes[key]
        if node.is_group:
            under[key] = frozenset().union(*(under[c] for c in node.children))
        else:
            under[key] = frozenset({key})
    return under


def _cycles(nodes: dict[str, Node]) -> list[list[str]]:
    """Cycles of the "must wait for" relation, one per strongly connected component.

    A task waits for its prerequisites and for its own subtasks; a subtask waits for
    what its task waits for. So a subtask naming its task (or the reverse) is a cycle.
    """
    edges: dict[str, list[str]] = {k: [] for k in nodes}
    for key, node in nodes.items():
        edges[key] += node.prerequisites
        edges[key] += node.children
        for ancestor in _ancestors(nodes, key):
            edges[key] += nodes[ancestor].prerequisites
    components = _strongly_connected(nodes, edges)
    cycles = []
    for component in components:
        members = set(component)
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        cycles.append(_one_cycle(component[0], edges, members))
    return cycles


def _strongly_connected(nodes: dict[str, Node], edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: thousands of tasks must not hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            key, i = work.pop()
            if i == 0:
                index[key] = low[key] = counter
                counter += 1
                stack.append(key)
                on_stack.add(key)
            targets = edges[key]
            if i < len(targets):
                work.append((key, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[key] = min(low[key], index[target])
                continue
            if low[key] == index[key]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == key:
                        break
                out.append(sorted(component, key=lambda k: nodes[k].position))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[key])
    return out


def _one_cycle(start: str, edges: dict[str, list[str]], members: set[str]) -> list[str]:
    """A path start -> ... -> start inside one component, by breadth-first search."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for key in frontier:
            for target in edges[key]:
                if target not in members:
                    continue
                if target == start:
                    path = [key]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if target not in previous:
                    previous[target] = key
                    following.append(target)
        frontier = following
    return [start, start]
