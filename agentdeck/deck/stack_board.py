"""DeckBoard: the StackBoard a Deck hands the stack workflow, and the pool of agent
executions the scale control bounds.

The pool is per process: `scale` agent executions at once across every stack this
process runs, and each stack at most min(its own scale, its max concurrent). A change
of scale is read on the next dispatch (this process at once, others within a second);
at 0 a stack's cycle does not start and it looks again after `stack_hold_delay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentdeck.deck.stack_context import apply_output, read_context
from agentdeck.domain.stacks import (
    Action,
    Counters,
    Limits,
    Outcome,
    Role,
    StackState,
    Work,
    decide,
    detect_all,
)
from agentdeck.domain.topics import Topic
from agentdeck.store import stack_board as q
from agentdeck.store import stacks as stack_queries

if TYPE_CHECKING:
    from agentdeck.deck import Deck

SCALE_TTL = 1.0  # seconds a process trusts the global scale it read
RUN_EVENTS = 200  # newest events a stack's run keeps: a run that cycles for days stays small


class Pool:
    """Agent executions at once: a global limit and a cap per stack, changed live."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._by_stack: dict[str, int] = {}
        self._caps: dict[str, int] = {}
        self._changed = asyncio.Condition()

    def cap(self, stack_id: str, cap: int) -> None:
        self._caps[stack_id] = cap

    async def set_limit(self, limit: int) -> None:
        self.limit = limit
        async with self._changed:
            self._changed.notify_all()

    def _free(self, stack_id: str) -> bool:
        cap = self._caps.get(stack_id, self.limit)
        return self.in_flight < self.limit and self._by_stack.get(stack_id, 0) < cap

    @contextlib.asynccontextmanager
    async def slot(self, stack_id: str, timeout: float) -> AsyncIterator[bool]:  # noqa: ASYNC109
        """Yields True holding a slot, or False if none freed up within `timeout`."""
        async with self._changed:
            got = self._free(stack_id)
            if not got and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: self._free(stack_id))
                        got = True
            if got:
                self.in_flight += 1
                self._by_stack[stack_id] = self._by_stack.get(stack_id, 0) + 1
        try:
            yield got
        finally:
            if got:
                async with self._changed:
                    self.in_flight -= 1
                    left = self._by_stack[stack_id] - 1
                    if left:
                        self._by_stack[stack_id] = left
                    else:
                        self._by_stack.pop(stack_id, None)
                    self._changed.notify_all()


class DeckBoard:
    """The stack workflow's view of stacks (workflows/stack/board.py), over the store."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck
        self._db = deck.db
        self._settings = deck.settings
        self.pool = Pool(deck.settings.stack_scale)
        self._scale_read_at = -SCALE_TTL
        self._detections: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def forget(self, stack_ids: Iterable[str]) -> None:
        """Drop cached detections (the stacks changed)."""
        for stack_id in stack_ids:
            self._detections.pop(stack_id, None)

    async def refresh_scale(self) -> int:
        chosen = await self._db.read(stack_queries.global_scale)
        limit = self._settings.stack_scale if chosen is None else chosen
        self._scale_read_at = time.monotonic()
        if limit != self.pool.limit:
            await self.pool.set_limit(limit)
        return limit

    # --- a cycle's start and end ---------------------------------------------------------

    async def begin(self, stack_id: str, run_id: str, cycle: int) -> dict[str, Any]:
        if time.monotonic() - self._scale_read_at > SCALE_TTL:
            await self.refresh_scale()
        now = self._deck.clock.now()

        def tx(conn: Any) -> dict[str, Any]:
            stack = stack_queries.lock_stack(conn, stack_id)
            if stack is None or stack.run_id != run_id:
                return {"go": "end", "reason": "the stack no longer runs this run"}
            if stack.state != StackState.RUNNING:
                stack_queries.update_stack(conn, stack_id, now, run_id=None, next_cycle_at=None)
                return {"go": "end", "reason": f"the stack is {stack.state}"}
            if stack.budget_usd is not None and stack.cost_usd >= stack.budget_usd:
                reason = (
                    f"budget reached: ${stack.cost_usd:.4f} of ${stack.budget_usd:.4f}; "
                    "raise the budget and resume"
                )
                stack_queries.update_stack(
                    conn,
                    stack_id,
                    now,
                    state=StackState.PAUSED.value,
                    reason=reason,
                    run_id=None,
                    next_cycle_at=None,
                )
                return {"go": "end", "reason": reason}
            cap = min(stack.max_concurrent, stack.scale if stack.scale is not None else 10**9)
            if limit == 0 or cap == 0:
                return {"go": "hold", "cap": cap}
            q.forget_steps(conn, run_id, f"c{cycle}")
            q.trim_events(conn, run_id, RUN_EVENTS)
            agents = {a.role: a.agent for a in stack_queries.list_agents(conn, stack_id)}
            work = cached if cached is not None else self._detect(conn, stack_id, now)
            busy = [w["role"] for w in work if w["priority"] > 0]
            q.mark_running(conn, stack_id, busy)
            if Role.BUILDER.value in busy:  # its todo is taken now: the context only reads it
                q.take_todo(conn, stack_id, Role.BUILDER.value, now)
            return {"go": "run", "cap": cap, "agents": agents, "work": work}

        limit = self.pool.limit
        cached = self._cached(stack_id)
        found = await self._db.write(tx)
        if found["go"] == "end":
            self._deck.notifier.publish(Topic.EVENT)
            return found
        self.pool.cap(stack_id, found["cap"])
        if found["go"] == "hold":
            delay = self._settings.stack_hold_delay.total_seconds()
            return {"go": "hold", "reason": "held by the scale control (0)", "delay_s": delay}
        self._detections.pop(stack_id, None)  # used once: the next cycle detects afresh
        found["memory_limit"] = self._settings.stack_memory_limit
        return found

    async def release(self, stack_id: str, run_id: str) -> bool:
        now = self._deck.clock.now()
        return await self._db.write(lambda conn: stack_queries.release(conn, now, stack_id, run_id))

    async def running(self, stack_id: str) -> bool:
        stack = await self._db.read(lambda conn: stack_queries.find_stack(conn, stack_id))
        return stack is not None and stack.state == StackState.RUNNING

    def slot(self, stack_id: str) -> contextlib.AbstractAsyncContextManager[bool]:
        return self.pool.slot(stack_id, self._settings.stack_hold_delay.total_seconds())

    # --- work detection ------------------------------------------------------------------

    def _cached(self, stack_id: str) -> list[dict[str, Any]] | None:
        """The detection the last cycle's decision made, while it is fresh (seed 001: 5 s)."""
        cached = self._detections.get(stack_id)
        ttl = self._settings.stack_detection_ttl.total_seconds()
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        return None

    def _detect(self, conn: Any, stack_id: str, now: Any) -> list[dict[str, Any]]:
        """Detect each role's work and record it (the detection cache of the stack page)."""
        works = detect_all(q.snapshot(conn, stack_id), now, self._settings.stack_periodic_interval)
        q.record_detection(conn, now, stack_id, works)
        return _plain(works)

    async def node_state(
        self, stack_id: str, role: str, state: str, error: str | None = None
    ) -> None:
        now = self._deck.clock.now()
        if state == "running":
            await self._db.write(lambda conn: q.set_agent(conn, stack_id, role, status="running"))
        else:
            await self._db.write(lambda conn: q.count_executions(conn, stack_id, role, now, error))

    async def memory(self, stack_id: str, role: str) -> str:
        agents = await self._db.read(lambda conn: stack_queries.list_agents(conn, stack_id))
        return next((a.memory for a in agents if a.role == role), "")

    async def set_memory(self, stack_id: str, role: str, memory: str, summarised: bool) -> None:
        await self._db.write(lambda conn: q.set_memory(conn, stack_id, role, memory, summarised))

    async def finish(self, stack_id: str, run_id: str, cycle: dict[str, Any]) -> dict[str, Any]:
        """Record the cycle once and decide what comes next (domain.stacks.decide)."""
        now = self._deck.clock.now()
        number = int(cycle["number"])
        limits = Limits(self._settings.stack_stop_after_idle, self._settings.stack_stall_limit)
        periodic = self._settings.stack_periodic_interval

        def tx(conn: Any) -> dict[str, Any]:
            stack = stack_queries.lock_stack(conn, stack_id)
            if stack is None:
                return {"action": Action.STOP.value, "delay_s": 0, "reason": "deleted", "go": False}
            recorded = q.find_cycle(conn, stack_id, number)
            if recorded is not None:  # a replay: the decision was taken already
                go = stack.run_id == run_id and stack.state == StackState.RUNNING
                return {
                    "action": recorded.decision,
                    "delay_s": recorded.delay_s,
                    "reason": recorded.reason,
                    "go": go,
                }
            made = cycle["outcome"]
            fingerprint = cycle.get("fingerprint") or None
            outcome = Outcome(
                ran=int(made["ran"]),
                held=int(made.get("held", 0)),
                new_todos=int(made["todos"]),
                new_artifacts=int(made["artifacts"]),
                new_messages=int(made["messages"]),
                repeated=fingerprint is not None and fingerprint == stack.fingerprint,
                budget_reached=stack.budget_usd is not None
                and stack.cost_usd + Decimal(str(cycle["cost_usd"])) >= stack.budget_usd,
            )
            remaining = detect_all(q.snapshot(conn, stack_id), now, periodic)
            q.record_detection(conn, now, stack_id, remaining)
            self._detections[stack_id] = (time.monotonic(), _plain(remaining))
            before = Counters(stack.idle_cycles, stack.stalled_cycles)
            decision = decide(outcome, remaining, before, limits)
            cost = Decimal(str(cycle["cost_usd"]))
            q.insert_cycle(
                conn,
                {
                    "stack_id": stack_id,
                    "number": number,
                    "work": cycle["work"],
                    "graph": cycle["graph"],
                    "outcome": {**made, "repeated": outcome.repeated},
                    "decision": decision.action.value,
                    "delay_s": decision.delay.total_seconds(),
                    "reason": decision.reason,
                    "cost_usd": cost,
                    "started_at": cycle["started_at"],
                    "finished_at": now,
                },
            )
            q.add_cost(conn, stack_id, cost)
            q.settle_agents(conn, stack_id)
            values: dict[str, Any] = {
                "cycles": number,
                "idle_cycles": decision.counters.idle,
                "stalled_cycles": decision.counters.stalled,
                "fingerprint": fingerprint,
                "reason": decision.reason,
                "next_cycle_at": now + decision.delay,
            }
            ours = stack.run_id == run_id
            go = ours and stack.state == StackState.RUNNING
            if not go:  # a person paused or stopped it meanwhile: their reason stays
                del values["reason"]
                values["next_cycle_at"] = None
                if ours:
                    values["run_id"] = None
            elif decision.action in (Action.STOP, Action.PARK):
                stopped = decision.action == Action.STOP
                values["state"] = (StackState.STOPPED if stopped else StackState.PAUSED).value
                values.update(run_id=None, next_cycle_at=None)
                go = False
            stack_queries.update_stack(conn, stack_id, now, **values)
            return {
                "action": decision.action.value,
                "delay_s": decision.delay.total_seconds(),
                "reason": decision.reason,
                "go": go,
            }

        decided = await self._db.write(tx)
        self._deck.notifier.publish(Topic.EVENT)
        return decided

    # --- what an agent sees, and what it did ------------------------------------------------

    async def context(self, stack_id: str, role: str, cycle: int) -> dict[str, Any]:
        now = self._deck.clock.now()
        found = await self._db.read(lambda conn: read_context(conn, stack_id, Role(role), now))
        if role == Role.BUILDER and found.get("todo") is None:  # none taken at the start
            found = await self._db.write(
                lambda conn: read_context(conn, stack_id, Role(role), now, take=True)
            )
        return found

    async def apply(
        self,
        stack_id: str,
        role: str,
        cycle: int,
        context: dict[str, Any],
        output: Any,
        memory: str | None,
    ) -> dict[str, Any]:
        now = self._deck.clock.now()

        def tx(conn: Any) -> dict[str, int]:
            made = apply_output(conn, stack_id, Role(role), cycle, context, output, now)
            q.count_executions(conn, stack_id, role, now, None)
            if memory is not None:
                q.set_memory(conn, stack_id, role, memory, False)
            return made

        made = await self._db.write(tx)
        self._detections.pop(stack_id, None)
        self._deck.notifier.publish(Topic.EVENT)
        return made


def _plain(works: list[Work]) -> list[dict[str, Any]]:
    return [{"role": w.role.value, "priority": w.priority, "reason": w.reason} for w in works]


__all__ = ["DeckBoard", "Pool"]
