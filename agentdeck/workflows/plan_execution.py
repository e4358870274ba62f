"""Executing a plan's task graph inside one run: internal agents in parallel, external agents
that poll for work, and people who unblock what is stuck.

Decisions are made here, from the run's inputs and what its journaled steps and signals
return, so a resumed run walks the same path: an internal attempt is the agent step
`llm:task:<id>:<attempt>`; whatever arrives from outside (an external agent's report,
a lease that expired, a person's decision) is a signal on `plan.tasks` or a decision at
the `human review` gate, consumed in order. The task board shows every decision in the
tasks table; its writes are fenced by the run's lease and land once, even when replayed.

The run waits (holding no worker slot) only when nothing internal is left to do: on
`plan.tasks` while external agents have tasks, else at the `human review` gate while
tasks are blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from heapq import heappop, heappush
from typing import Any

from agentdeck.agents import current_runner
from agentdeck.agents.budget import BudgetExceeded
from agentdeck.domain.errors import AgentdeckError, InvalidInput, LeaseLost, NotFound
from agentdeck.domain.plans import Node, TaskGraph
from agentdeck.domain.retry import RetryPolicy
from agentdeck.domain.runs import WaitKind
from agentdeck.domain.tasks import (
    FAIL,
    FINISH,
    HOLD,
    MARK_DONE,
    OFFER,
    RELEASE_HOLD,
    RETRY,
    SKIP,
    START,
    Executor,
    Move,
    Resolution,
    TaskStatus,
    TaskWrite,
)
from agentdeck.engine.context import RunContext, Suspend
from agentdeck.workflows.task_sink import TaskSink

INBOX = "plan.tasks"  # the signal external reports and people's resolutions arrive on
GATE = "human review"
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


class Execution:
    """One execution of a task graph; `run()` returns the result or raises PlanFailed."""

    def __init__(self, ctx: RunContext, graph: TaskGraph, policy: Policy, sink: TaskSink) -> None:
        self.ctx = ctx
        self.graph = graph
        self.policy = policy
        self.sink = sink
        self.leaves = {
            k: Leaf(graph.nodes[k], f"{ctx.run_id}:{k}", waiting=len(graph.needs[k]))
            for k in graph.leaves
        }
        self.dependents = graph.dependents()
        self._fresh: list[Leaf] = []  # prerequisites done: to be routed and offered
        self._queue: list[tuple[int, str, float]] = []  # internal, ready: (position, key, delay)
        self._running: dict[asyncio.Task[Outcome], str] = {}
        self._sleeping: set[str] = set()
        self._counters: Counter[str] = Counter()
        self._progress_at = 0.0
        self._inbox_first = False  # a recheck at the gate: a resolution waits on the signal
        self._backoff = RetryPolicy(
            initial_interval=timedelta(seconds=policy.retry_interval),
            max_interval=timedelta(seconds=max(60.0, policy.retry_interval)),
        )

    # --- the loop --------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        await self._create()
        self._fresh = [leaf for leaf in self.leaves.values() if leaf.waiting == 0]
        try:
            while True:
                if self._fresh:
                    await self._route_and_offer()
                if self.ctx.pause_requested and not self._running:
                    await self._park()
                if not self.ctx.pause_requested:
                    self._launch()
                if self._running:
                    await self._collect()
                elif self._fresh:
                    continue
                elif all(leaf.status.finished for leaf in self.leaves.values()):
                    return await self._finish()
                else:
                    await self._idle()
        except BaseException:
            await self._abandon()
            raise

    async def _create(self) -> None:
        """Store every task, the plan as an artifact, and announce it: once per run."""
        graph = self.graph

        async def create() -> int:
            now = self.ctx.now()
            rows = [
                {
                    "id": f"{self.ctx.run_id}:{node.key}",
                    "run_id": self.ctx.run_id,
                    "key": node.key,
                    "parent_key": node.parent,
                    "position": node.position,
                    "depth": node.depth,
                    "is_group": node.is_group,
                    "title": node.title,
                    "description": node.description or None,
                    "role": node.role,
                    "prerequisites": list(node.prerequisites),
                    "confidence": node.confidence,
                    "needs_review": not node.is_group and self._needs_review(node),
                    "status": S.PENDING.value,
                    "created_at": now,
                    "updated_at": now,
                }
                for node in graph.nodes.values()
            ]
            await self.sink.create(self.ctx, rows)
            await self.ctx.artifact(
                "plan.json", graph.plan.model_dump_json(indent=2), media_type="application/json"
            )
            layers = graph.layers()
            self.ctx.emit(
                "plan.created",
                f"{len(graph.leaves)} task(s) to do in {1 + max(layers.values())} layer(s): "
                f"{graph.plan.title}",
                tasks=len(graph.nodes),
                leaves=len(graph.leaves),
                layers=1 + max(layers.values()),
            )
            return len(rows)

        created: int = await self.ctx.step("tasks", create)
        assert created == len(graph.nodes)

    async def _route_and_offer(self) -> None:
        fresh, self._fresh = self._fresh, []
        routes = await asyncio.gather(*(self._route(leaf) for leaf in fresh))
        for leaf, executor in zip(fresh, routes, strict=True):
            leaf.executor = executor
            leaf.agent = self._agent_for(leaf) if executor == Executor.INTERNAL else None
            self._write(
                leaf,
                OFFER,
                attempt=1,
                values=self._placement(leaf, 0.0),
                event=("task.offered", "offered to external agents")
                if executor == Executor.EXTERNAL
                else None,
            )
            leaf.attempt = leaf.tries = 1
            leaf.status = S.READY
            if self._needs_review(leaf.node) and not leaf.reviewed:
                confidence = leaf.node.confidence
                self._hold(
                    leaf,
                    f"decomposition confidence {confidence:.2f} is below the review threshold "
                    f"{self.policy.review_threshold:.2f}: review it before it runs",
                )
            else:
                self._dispatch(leaf, 0.0)

    async def _route(self, leaf: Leaf) -> Executor:
        """Who runs a task: fixed by the task or the run, else (auto) by who is registered."""
        fixed = leaf.node.assignee if leaf.node.assignee != "auto" else self.policy.dispatch
        if fixed != "auto":
            return Executor(fixed)

        async def capable() -> bool:
            return await self.sink.capable(leaf.node.role)

        external: bool = await self.ctx.step(f"route:{leaf.key}", capable)
        return Executor.EXTERNAL if external else Executor.INTERNAL

    def _launch(self) -> None:
        while self._queue and len(self._running) < self.policy.max_parallel:
            _, key, delay = heappop(self._queue)
            leaf = self.leaves[key]
            if leaf.status != S.READY or leaf.executor != Executor.INTERNAL:
                continue
            task = asyncio.create_task(self._execute(leaf, leaf.attempt, delay))
            self._running[task] = key

    async def _collect(self) -> None:
        """Wait for internal attempts to end (or a progress tick) and settle what ended."""
        done, _ = await asyncio.wait(
            self._running, timeout=PROGRESS_INTERVAL, return_when=asyncio.FIRST_COMPLETED
        )
        suspend: Suspend | None = None
        for future in sorted(done, key=lambda f: self.leaves[self._running[f]].node.position):
            self._running.pop(future)
            try:
                self._settle(future.result())
            except Suspend as raised:
                suspend = suspend or raised
        if suspend is not None:
            await self._suspend(suspend)
        await self._save_progress()

    async def _suspend(self, suspend: Suspend) -> None:
        """Leave the worker as `suspend` says, once the other attempts are dealt with.

        On pause, attempts inside a model call finish it (each records its step, then
        parks) and those still in a retry's backoff are dropped; no new one starts. Any
        other suspension (a budget gate, which opens only with no call in flight) drops
        the rest at once.
        """
        pausing = self.ctx.pause_requested
        for future, key in self._running.items():
            if not pausing or key in self._sleeping:
                future.cancel()
        if self._running:
            await asyncio.wait(self._running)
        for future in list(self._running):
            self._running.pop(future)
            if future.cancelled():
                continue
            with contextlib.suppress(Suspend):
                self._settle(future.result())
        await self.sink.flush(self.ctx)
        raise suspend

    async def _abandon(self) -> None:
        """Cancel the attempts still going (the run is cancelled, failed or lost its lease)."""
        for future in self._running:
            future.cancel()
        if self._running:
            await asyncio.wait(self._running)
        for future in self._running:
            if not future.cancelled():
                future.exception()  # retrieved: asyncio must not log it
        self._running.clear()

    async def _park(self) -> None:
        """Pause asked while nothing runs: a step lets the engine park the run."""
        await self.sink.flush(self.ctx)
        await self.ctx.step(f"pause:{self._next('pause')}", _nothing)

    async def _idle(self) -> None:
        """Nothing internal to do: wait for external agents, else for a person."""
        external = [x for x in self.leaves.values() if _offered_outside(x)]
        blocked = [x for x in self.leaves.values() if x.status == S.BLOCKED]
        if not external and not blocked and not self._inbox_first:
            stuck = [x.key for x in self.leaves.values() if not x.status.finished]
            raise AgentdeckError(f"plan cannot progress; stuck tasks: {', '.join(stuck)}")
        if external or self._inbox_first:
            self._inbox_first = False
            await self._save_progress(
                stage=f"waiting for external agents ({len(external)} tasks)", force=True
            )
            await self.sink.flush(self.ctx)
            payload, live = await self._wait(INBOX, WaitKind.SIGNAL)
            self._receive(payload, live)
        else:
            await self._save_progress(stage=GATE, force=True)
            await self.sink.flush(self.ctx)
            payload, live = await self._wait(GATE, WaitKind.GATE)
            self._decide(payload, live)

    async def _wait(self, name: str, kind: WaitKind) -> tuple[Any, bool]:
        """The next signal or gate decision, and whether it is new (not replayed)."""
        channel = f"gate:{name}" if kind == WaitKind.GATE else name
        live = not self.ctx.is_replayed(f"signal:{channel}:{self._next(channel)}")
        return await self.ctx.wait_for_signal(name, kind=kind), live

    async def _finish(self) -> dict[str, Any]:
        leaves = list(self.leaves.values())
        failed = [x for x in leaves if x.status == S.FAILED]
        lost = [x.key for x in leaves if x.status == S.SKIPPED and not x.satisfied]
        counts = Counter(x.status.value for x in leaves)
        verdict = "failed" if failed else "completed"
        await self._save_progress(stage=None, force=True, verdict=verdict)
        await self.sink.flush(self.ctx)
        if failed:
            named = ", ".join(f"{x.key} ({_clip(x.error or 'failed', 200)})" for x in failed[:10])
            skipped = f"; skipped because a prerequisite failed: {', '.join(lost)}" if lost else ""
            raise PlanFailed(f"{len(failed)} of {len(leaves)} task(s) failed: {named}{skipped}")
        return {
            "verdict": verdict,
            "title": self.graph.plan.title,
            "tasks": len(leaves),
            "counts": dict(counts),
            "skipped": [x.key for x in leaves if x.status == S.SKIPPED],
        }

    # --- internal attempts ---------------------------------------------------------

    async def _execute(self, leaf: Leaf, attempt: int, delay: float) -> Outcome:
        key = f"task:{leaf.key}:{attempt}"
        if delay > 0 and not self.ctx.is_replayed(f"llm:{key}"):
            self._sleeping.add(leaf.key)
            try:
                await asyncio.sleep(delay)
            finally:
                self._sleeping.discard(leaf.key)
        agent = leaf.agent or self.policy.agents.get("executor", "executor")
        values = {"started_at": self.ctx.now(), "agent": agent, "finished_at": None}
        self._write(leaf, START, values=values)
        leaf.status = S.RUNNING
        if not self.ctx.is_replayed(f"llm:{key}"):
            # through the run's own log, so it precedes what the agent call records
            self.ctx.emit(
                "task.started",
                f"{leaf.key}: started by {agent} (attempt {attempt})",
                task=leaf.key,
                attempt=attempt,
                agent=agent,
            )
        try:
            reply = await current_runner().run(self.ctx, agent, self._prompt(leaf), key=key)
        except LeaseLost:
            raise
        except Exception as error:
            retryable = not isinstance(error, NotFound | InvalidInput | BudgetExceeded)
            text = f"{type(error).__name__}: {error}"
            return Outcome(leaf.key, attempt, ok=False, error=text, retryable=retryable)
        detail = {"agent": reply.agent, "model": reply.model_id, "simulated": reply.simulated}
        return Outcome(leaf.key, attempt, ok=True, text=reply.text, detail=detail)

    def _settle(self, outcome: Outcome) -> None:
        leaf = self.leaves[outcome.key]
        if leaf.attempt != outcome.attempt or leaf.status != S.RUNNING:
            return
        now = self.ctx.now()
        if outcome.ok:
            leaf.output = outcome.text
            output = {"text": outcome.text[:OUTPUT_LIMIT], **outcome.detail}
            self._write(
                leaf,
                FINISH,
                values={"output": output, "finished_at": now, "error": None},
                event=("task.completed", f"completed by {outcome.detail.get('agent')}"),
            )
            leaf.status = S.COMPLETED
            self._satisfy(leaf)
            return
        leaf.error = outcome.error
        self._write(
            leaf,
            FAIL,
            values={"error": _clip(outcome.error or "", 20_000), "finished_at": now},
            event=("task.failed", f"attempt {leaf.attempt} failed: {_clip(leaf.error, 300)}"),
        )
        leaf.status = S.FAILED
        self._after_failure(leaf, outcome.retryable)

    def _prompt(self, leaf: Leaf) -> str:
        node = leaf.node
        task: dict[str, Any] = {"id": node.key, "title": node.title}
        if node.description:
            task["description"] = node.description
        if node.parent is not None:
            task["part_of"] = self.graph.nodes[node.parent].title
        task["plan"] = self.graph.plan.title
        parts = [f"## Task\n\n{json.dumps(task, ensure_ascii=False)}"]
        results = [
            f"### {p.key}: {p.node.title}\n\n{_clip(p.output or '(no result)', CONTEXT_LIMIT)}"
            for p in self._prerequisites(leaf)
        ]
        if results:
            parts.append("## Results of its prerequisites\n\n" + "\n\n".join(results))
        if leaf.note:
            parts.append(f"## A person's note for this attempt\n\n{leaf.note}")
        parts.append(
            "## What to do\n\nCarry out this task. Answer in markdown: what you did and the "
            "outcome."
        )
        return "\n\n".join(parts)

    def _prerequisites(self, leaf: Leaf) -> list[Leaf]:
        needs = self.graph.needs[leaf.key]
        return sorted((self.leaves[k] for k in needs), key=lambda x: x.node.position)

    # --- what arrives from outside ---------------------------------------------------

    def _receive(self, payload: Any, live: bool) -> None:
        if not isinstance(payload, dict):
            return
        if payload.get("kind") == "report":
            self._report(payload)
        elif payload.get("kind") == "resolve":
            self._resolve(payload, live)

    def _report(self, report: dict[str, Any]) -> None:
        """An external agent's outcome (already stored by the board); stale ones are ignored."""
        leaf = self.leaves.get(str(report.get("task")))
        if leaf is None or not _offered_outside(leaf) or report.get("attempt") != leaf.attempt:
            return
        status = report.get("status")
        if status == S.COMPLETED:
            output = report.get("output")
            leaf.output = output if isinstance(output, str) else json.dumps(output or "")
            leaf.status = S.COMPLETED
            self._satisfy(leaf)
        elif status == S.FAILED:
            leaf.status = S.FAILED
            leaf.error = str(report.get("error") or "failed")
            self._after_failure(leaf, bool(report.get("retryable", True)))
        elif status == S.BLOCKED:
            leaf.status = S.BLOCKED
            leaf.held = False

    def _decide(self, payload: Any, live: bool) -> None:
        """A decision at the gate: approve (data.action, default retry), reject (skip), or
        request changes (retry, with the comment shown to the next attempt)."""
        if not isinstance(payload, dict):
            return
        decision = payload.get("decision")
        action = payload.get("action")
        if decision == "reject":
            action = action if action in (Resolution.SKIP, Resolution.DONE) else Resolution.SKIP
        elif decision == "changes":
            action = action if action == Resolution.REASSIGN else Resolution.RETRY
        self._resolve({**payload, "action": action or Resolution.RETRY}, live)

    def _resolve(self, request: dict[str, Any], live: bool) -> None:
        """A person's resolution of a blocked task (the first blocked one if none is named)."""
        if request.get("action") == "recheck":
            self._inbox_first = True
            return
        named = request.get("task")
        leaf = (
            self.leaves.get(str(named))
            if named
            else next((x for x in self.leaves.values() if x.status == S.BLOCKED), None)
        )
        note = request.get("comment") or request.get("note")
        if leaf is None or leaf.status != S.BLOCKED:
            if live:
                self.ctx.emit(
                    "task.resolution_ignored",
                    f"task {named} is not blocked: nothing to resolve",
                    task=named,
                )
            return
        try:
            action = Resolution(request.get("action") or Resolution.RETRY)
        except ValueError:
            action = Resolution.RETRY
        by = request.get("by")
        said = f" by {by}" if by else ""
        if action == Resolution.SKIP:
            reason = note or "skipped by a person; its dependents go ahead"
            event = ("task.skipped", reason + said)
            self._write(leaf, SKIP, values={"reason": reason}, event=event)
            leaf.status = S.SKIPPED
            self._satisfy(leaf)
        elif action == Resolution.DONE:
            leaf.output = note or "marked done by a person"
            self._write(
                leaf,
                MARK_DONE,
                values={
                    "output": {"text": leaf.output, "by": by, "marked_done": True},
                    "reason": None,
                    "finished_at": self.ctx.now(),
                },
                event=("task.completed", f"marked done{said}: {_clip(leaf.output, 300)}"),
            )
            leaf.status = S.COMPLETED
            self._satisfy(leaf)
        else:
            if action == Resolution.REASSIGN:
                self._reassign(leaf, request)
            leaf.note = note
            if leaf.held:
                leaf.reviewed = True
                leaf.held = False
                self._write(
                    leaf,
                    RELEASE_HOLD,
                    values={**self._placement(leaf, 0.0), "reason": None},
                    event=("task.approved", f"approved{said}; it runs now"),
                )
                leaf.status = S.READY
                self._dispatch(leaf, 0.0)
            else:
                leaf.tries = 0
                self._retry(leaf, 0.0, f"{action.value}{said}")

    def _reassign(self, leaf: Leaf, request: dict[str, Any]) -> None:
        external = request.get("external_agent")
        agent = request.get("agent")
        if external:
            leaf.executor, leaf.agent, leaf.target = Executor.EXTERNAL, None, str(external)
        elif agent:
            leaf.executor, leaf.agent, leaf.target = Executor.INTERNAL, str(agent), None
        elif request.get("executor") in (Executor.INTERNAL, Executor.EXTERNAL):
            leaf.executor = Executor(request["executor"])
            leaf.target = None
            internal = leaf.executor == Executor.INTERNAL
            leaf.agent = self._agent_for(leaf) if internal else None

    # --- moves ---------------------------------------------------------------------

    def _write(
        self,
        leaf: Leaf,
        move: Move,
        *,
        attempt: int | None = None,
        values: dict[str, Any] | None = None,
        event: tuple[str, str] | None = None,
    ) -> None:
        """Check the move against the task's state and queue it for the tasks table."""
        move.check(leaf.status)
        leaf.revision += 1
        recorded = None
        if event is not None:
            kind, message = event
            data = {"task": leaf.key, "attempt": attempt or leaf.attempt}
            recorded = {"kind": kind, "message": f"{leaf.key}: {message}", "data": data}
        write = TaskWrite(
            leaf.id,
            move,
            attempt or leaf.attempt,
            leaf.attempt,
            leaf.revision,
            values or {},
            recorded,
        )
        self.sink.record(self.ctx, [write])

    def _dispatch(self, leaf: Leaf, delay: float) -> None:
        if leaf.executor == Executor.INTERNAL:
            heappush(self._queue, (leaf.node.position, leaf.key, delay))

    def _hold(self, leaf: Leaf, reason: str) -> None:
        leaf.held = leaf.status == S.READY
        self._write(
            leaf, HOLD, values={"reason": reason}, event=("task.blocked", f"needs review: {reason}")
        )
        leaf.status = S.BLOCKED

    def _retry(self, leaf: Leaf, delay: float, why: str) -> None:
        attempt = leaf.attempt + 1
        self._write(
            leaf,
            RETRY,
            attempt=attempt,
            values={**self._placement(leaf, delay), "reason": None},
            event=("task.retrying", f"attempt {attempt} in {delay:.1f}s ({why})"),
        )
        leaf.attempt = attempt
        leaf.tries += 1
        leaf.status = S.READY
        self._dispatch(leaf, delay)

    def _after_failure(self, leaf: Leaf, retryable: bool) -> None:
        limit = leaf.node.max_attempts or self.policy.max_attempts
        if retryable and leaf.tries < limit:
            delay = self._backoff.backoff(leaf.tries).total_seconds()
            self._retry(leaf, delay, f"after {leaf.tries} of {limit}")
        elif self.policy.on_failure == OnFailure.ASK_HUMAN:
            self._hold(leaf, f"failed after {leaf.tries} attempt(s): {_clip(leaf.error, 500)}")
        else:
            self._skip_dependents(leaf)

    def _skip_dependents(self, failed: Leaf) -> None:
        reason = f"prerequisite {failed.key} failed"
        stack = [failed]
        while stack:
            current = stack.pop()
            for key in self.dependents[current.key]:
                leaf = self.leaves[key]
                if leaf.status != S.PENDING:
                    continue
                self._write(leaf, SKIP, values={"reason": reason}, event=("task.skipped", reason))
                leaf.status = S.SKIPPED
                stack.append(leaf)

    def _satisfy(self, leaf: Leaf) -> None:
        leaf.satisfied = True
        for key in self.dependents[leaf.key]:
            dependent = self.leaves[key]
            dependent.waiting -= 1
            if dependent.waiting == 0 and dependent.status == S.PENDING:
                self._fresh.append(dependent)

    def _placement(self, leaf: Leaf, delay: float) -> dict[str, Any]:
        """The columns that say who may take a task and when."""
        available = self.ctx.now() + timedelta(seconds=delay)
        values: dict[str, Any] = {
            "executor": leaf.executor.value if leaf.executor else None,
            "agent": leaf.agent,
            "target_agent": leaf.target,
            "available_at": available,
            "lease_id": None,
            "lease_expires_at": None,
            "progress": None,
            "pickup_deadline_at": None,
            "lease_expirations": 0,  # a new attempt: its leases are counted afresh
        }
        if leaf.executor == Executor.EXTERNAL:
            deadline = available + timedelta(seconds=self.policy.pickup_timeout)
            values.update(pickup_deadline_at=deadline, inputs=self._external_inputs(leaf))
        return values

    def _external_inputs(self, leaf: Leaf) -> dict[str, Any]:
        """What an external agent gets with the task besides its fields."""
        node = leaf.node
        return {
            "plan": {"title": self.graph.plan.title, "summary": self.graph.plan.summary},
            "part_of": self.graph.nodes[node.parent].title if node.parent else None,
            "prerequisites": [
                {"id": p.key, "title": p.node.title, "output": _clip(p.output or "", CONTEXT_LIMIT)}
                for p in self._prerequisites(leaf)
            ],
            "note": leaf.note,
        }

    def _agent_for(self, leaf: Leaf) -> str:
        return leaf.node.agent or self.policy.agents.get(leaf.node.role) or "executor"

    def _needs_review(self, node: Node) -> bool:
        return node.confidence < self.policy.review_threshold

    # --- progress --------------------------------------------------------------------

    async def _save_progress(
        self,
        *,
        stage: str | None = "executing",
        force: bool = False,
        verdict: str | None = None,
    ) -> None:
        now = asyncio.get_running_loop().time()
        if not force and now - self._progress_at < PROGRESS_INTERVAL:
            return
        self._progress_at = now
        done = sum(1 for x in self.leaves.values() if x.status.finished)
        fields: dict[str, Any] = {"stage": stage, "progress": round(done / len(self.leaves), 4)}
        if verdict is not None:
            fields["verdict"] = verdict
        await self.ctx.set_progress(**fields)

    def _next(self, name: str) -> int:
        n = self._counters[name]
        self._counters[name] += 1
        return n


def _offered_outside(leaf: Leaf) -> bool:
    return leaf.status == S.READY and leaf.executor == Executor.EXTERNAL


def _clip(text: str | None, n: int) -> str:
    text = text or ""
    return text if len(text) <= n else text[: n - 1] + "…"


def _nothing() -> None:
    return None
