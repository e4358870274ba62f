"""TaskMoves: an execution's state and the moves of its tasks, each recorded in the tasks
table (`ctx.tasks`): dispatch, hold for review, retry, skip the dependents of a failure."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from heapq import heappush
from typing import Any

from agentdeck.domain.plans import Node, TaskGraph
from agentdeck.domain.retry import RetryPolicy
from agentdeck.domain.tasks import (
    HOLD,
    RETRY,
    SKIP,
    Executor,
    Move,
    TaskWrite,
)
from agentdeck.engine.context import RunContext
from agentdeck.workflows.plan.policy import (
    CONTEXT_LIMIT,
    PROGRESS_INTERVAL,
    Leaf,
    OnFailure,
    Outcome,
    Policy,
    S,
    clip,
)


class TaskMoves:
    """The state of one execution of a task graph, and how its tasks move."""

    def __init__(self, ctx: RunContext, graph: TaskGraph, policy: Policy) -> None:
        self.ctx = ctx
        self.graph = graph
        self.policy = policy
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
        self.ctx.tasks.record([write])

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
            self._hold(leaf, f"failed after {leaf.tries} attempt(s): {clip(leaf.error, 500)}")
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
                {"id": p.key, "title": p.node.title, "output": clip(p.output or "", CONTEXT_LIMIT)}
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

    def _prerequisites(self, leaf: Leaf) -> list[Leaf]:
        needs = self.graph.needs[leaf.key]
        return sorted((self.leaves[k] for k in needs), key=lambda x: x.node.position)
