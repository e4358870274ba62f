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
from heapq import heappop
from typing import Any

from agentdeck.agents import runner_of
from agentdeck.agents.budget import BudgetExceeded
from agentdeck.domain.errors import InvalidInput, LeaseLost, NotFound
from agentdeck.domain.tasks import (
    FAIL,
    FINISH,
    OFFER,
    START,
    Executor,
)
from agentdeck.engine.context import Suspend
from agentdeck.workflows.plan.inbox import Inbox
from agentdeck.workflows.plan.policy import (
    CONTEXT_LIMIT,
    OUTPUT_LIMIT,
    PROGRESS_INTERVAL,
    Dispatch,
    Leaf,
    OnFailure,
    Outcome,
    PlanFailed,
    Policy,
    S,
    clip,
    nothing,
)


class Execution(Inbox):
    """One execution of a task graph; `run()` returns the result or raises PlanFailed."""

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
            await self.ctx.tasks.create(rows)
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
            return await self.ctx.tasks.capable(leaf.node.role)

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
        await self.ctx.tasks.flush()
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
        await self.ctx.tasks.flush()
        await self.ctx.step(f"pause:{self._next('pause')}", nothing)

    async def _finish(self) -> dict[str, Any]:
        leaves = list(self.leaves.values())
        failed = [x for x in leaves if x.status == S.FAILED]
        lost = [x.key for x in leaves if x.status == S.SKIPPED and not x.satisfied]
        counts = Counter(x.status.value for x in leaves)
        verdict = "failed" if failed else "completed"
        await self._save_progress(stage=None, force=True, verdict=verdict)
        await self.ctx.tasks.flush()
        if failed:
            named = ", ".join(f"{x.key} ({clip(x.error or 'failed', 200)})" for x in failed[:10])
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
            reply = await runner_of(self.ctx).run(self.ctx, agent, self._prompt(leaf), key=key)
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
            values={"error": clip(outcome.error or "", 20_000), "finished_at": now},
            event=("task.failed", f"attempt {leaf.attempt} failed: {clip(leaf.error, 300)}"),
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
            f"### {p.key}: {p.node.title}\n\n{clip(p.output or '(no result)', CONTEXT_LIMIT)}"
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


__all__ = ["Dispatch", "Execution", "OnFailure", "PlanFailed", "Policy"]
