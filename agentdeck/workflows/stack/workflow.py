"""The stack workflow: one orchestration cycle per claim of the stack's run.

A cycle (seed 001): detect each role's work (`c<n>:detect`), build the graph of the
roles with work, run it in waves — each agent execution through the board's pool (the
scale control), its context (`c<n>:<role>:context`), model call (`llm:c<n>:<role>`) and
applied output (`c<n>:<role>:apply`) journaled — then record the cycle and decide
(`c<n>:finish`). One failing agent fails only its node. To go on, the run is re-armed:
queued again, due after the decision's pause, with the next cycle number in its inputs,
and the board drops the steps of earlier cycles, so a stack that runs for days keeps a
one-cycle journal and one run. Paused or stopped between waves, the rest of the cycle is
skipped (agents executing finish) and the run ends; resume starts a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.agents import runner_of
from agentdeck.domain.runs import RunStatus
from agentdeck.domain.stacks import (
    Node,
    Role,
    Work,
    build_graph,
    clip_memory,
    over_limit,
    remember,
    waves,
)
from agentdeck.domain.topics import Topic
from agentdeck.engine.context import RunContext, Suspend
from agentdeck.engine.registry import Registry
from agentdeck.engine.writer import Write
from agentdeck.workflows.stack.board import StackBoard, board_of
from agentdeck.workflows.stack.outputs import read_output
from agentdeck.workflows.stack.prompts import prompt, summary_prompt

NAME = "stack"


class StackInputs(BaseModel):
    """Inputs of a stack's run: the stack and the cycle it executes next."""

    model_config = ConfigDict(extra="forbid", title="Stack cycles")

    stack_id: str = Field(min_length=1, max_length=40, title="Stack")
    cycle: int = Field(1, ge=1, title="Next cycle")


class _Cycle:
    """One cycle's execution: its nodes' states, results and costs."""

    def __init__(
        self, ctx: RunContext, board: StackBoard, inputs: StackInputs, agents: dict[str, str]
    ):
        self.ctx = ctx
        self.board = board
        self.stack_id = inputs.stack_id
        self.n = inputs.cycle
        self.agents = agents
        self.memory_limit = 4000
        self.nodes: dict[str, dict[str, Any]] = {}
        self.made = {"todos": 0, "artifacts": 0, "messages": 0}
        self.cost = Decimal(0)
        self.texts: dict[str, str] = {}

    async def execute(self, node: Node) -> None:
        role = node.role
        state = self.nodes[role]
        async with self.board.slot(self.stack_id) as got:
            if not got:
                state["state"] = "held"
                state["error"] = "no slot of the pool within the hold delay"
                return
            state["state"] = "running"
            state["started_at"] = self.ctx.now().isoformat()
            started = asyncio.get_running_loop().time()
            try:
                counted = await self._run(role, state)
                state["state"] = "succeeded"
                if not counted:
                    await self.board.node_state(self.stack_id, role, "idle")
            except Exception as error:
                state["state"] = "failed"
                state["error"] = f"{type(error).__name__}: {error}"[:2000]
                await self.board.node_state(self.stack_id, role, "failed", state["error"])
            finally:
                state["duration_ms"] = round((asyncio.get_running_loop().time() - started) * 1000)

    async def _run(self, role: Role, state: dict[str, Any]) -> bool:
        """Execute one agent; True when its applied output also counted the execution."""
        ctx, board, n = self.ctx, self.board, self.n
        key = f"c{n}:{role.value}"
        context: dict[str, Any] = await ctx.step(
            f"{key}:context", lambda: board.context(self.stack_id, role.value, n)
        )
        if role == Role.BUILDER and context.get("todo") is None:
            state["result"] = "no pending todo left"
            return False
        runner = runner_of(ctx)
        agent = self.agents[role.value]
        reply = await runner.run(
            ctx, agent, prompt(role, context, n), key=key, role=f"stack-{role.value}"
        )
        self.cost += reply.cost_usd or Decimal(0)
        self.texts[role.value] = reply.text
        output = read_output(role, reply.json())
        summary = output.get("summary") or f"the {role.value} worked"
        memory = remember(context.get("memory") or "", f"cycle {n}: {summary}")
        # the memory lands with the output, one transaction, unless it must be summarised
        fits = not over_limit(memory, self.memory_limit)
        made: dict[str, Any] = await ctx.step(
            f"{key}:apply",
            lambda: board.apply(
                self.stack_id, role.value, n, context, output, memory if fits else None
            ),
        )
        for name in self.made:
            self.made[name] += int(made.get(name, 0))
        state["result"] = summary
        state["agent"] = agent
        state["model"] = reply.model_id
        if not fits:
            shorter = await runner.run(
                ctx,
                agent,
                summary_prompt(memory, self.memory_limit),
                key=f"{key}:summary",
                role="stack-summarizer",
            )
            self.cost += shorter.cost_usd or Decimal(0)
            memory = clip_memory(shorter.text.strip(), self.memory_limit)
            await board.set_memory(self.stack_id, role.value, memory, True)
        return True

    def fingerprint(self) -> str | None:
        if not self.texts:
            return None
        joined = "\x1e".join(f"{k}\x1f{v}" for k, v in sorted(self.texts.items()))
        return hashlib.sha256(joined.encode()).hexdigest()


async def stack(ctx: RunContext, raw: dict[str, Any]) -> dict[str, Any]:
    """Run the cycle the inputs name; re-arm the run for the next, or end."""
    inputs = StackInputs.model_validate(raw)
    board = board_of(ctx)
    n = inputs.cycle
    begun = await board.begin(inputs.stack_id, ctx.run_id, n)
    if begun["go"] == "end":
        return {"stack_id": inputs.stack_id, "cycles": n - 1, "ended": begun["reason"]}
    if begun["go"] == "hold":
        _rearm(ctx, inputs.stack_id, n, begun.get("delay_s", 2.0), begun["reason"])
    await ctx.set_progress(stage=f"cycle {n}")
    detected: dict[str, Any] = await ctx.step(
        f"c{n}:detect", lambda: {"work": begun["work"], "started_at": ctx.now().isoformat()}
    )
    works = [Work(Role(w["role"]), w["priority"], w["reason"]) for w in detected["work"]]
    graph = build_graph(works)
    cycle = _Cycle(ctx, board, inputs, begun["agents"])
    cycle.memory_limit = int(begun.get("memory_limit", 4000))
    for index, wave in enumerate(waves(graph)):
        for node in wave:
            cycle.nodes[node.role] = {
                "role": node.role.value,
                "priority": node.priority,
                "reason": node.reason,
                "depends_on": [d.value for d in node.depends_on],
                "wave": index,
                "state": "waiting",
            }
    for index, wave in enumerate(waves(graph)):
        if index and not await board.running(inputs.stack_id):
            for node in wave:
                cycle.nodes[node.role]["state"] = "skipped"
            continue
        outcomes = await asyncio.gather(*(cycle.execute(n) for n in wave), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # a suspend (the run was paused through the runs API)
    record = {
        "number": n,
        "work": detected["work"],
        "graph": list(cycle.nodes.values()),
        "outcome": {
            "ran": sum(1 for s in cycle.nodes.values() if s["state"] in ("succeeded", "failed")),
            "failed": sum(1 for s in cycle.nodes.values() if s["state"] == "failed"),
            "held": sum(1 for s in cycle.nodes.values() if s["state"] == "held"),
            **cycle.made,
        },
        "fingerprint": cycle.fingerprint(),
        "cost_usd": str(cycle.cost),
        "started_at": detected["started_at"],
    }
    decided: dict[str, Any] = await ctx.step(
        f"c{n}:finish", lambda: board.finish(inputs.stack_id, ctx.run_id, _dated(record))
    )
    if decided["go"]:
        _rearm(ctx, inputs.stack_id, n + 1, decided["delay_s"], decided["reason"])
    return {"stack_id": inputs.stack_id, "cycles": n, "ended": decided["reason"]}


def _dated(record: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    return {**record, "started_at": datetime.fromisoformat(record["started_at"])}


def _rearm(ctx: RunContext, stack_id: str, cycle: int, delay_s: float, reason: str) -> None:
    """Queue the run again for `cycle`, due after `delay_s`: it holds no worker slot meanwhile."""
    due = ctx.now() + timedelta(seconds=delay_s)
    raise Suspend(
        Write(
            run_id=ctx.run_id,
            epoch=ctx.run.lease_epoch,
            run_values={
                "status": RunStatus.QUEUED,
                "inputs": {"stack_id": stack_id, "cycle": cycle},
                "due_at": due,
                "claimed_by": None,
                "lease_expires_at": None,
            },
            events=[
                {
                    "kind": "stack.cycle",
                    "message": f"next: cycle {cycle} in {delay_s:g} s ({reason})",
                    "data": {"cycle": cycle, "delay_s": delay_s},
                }
            ],
            notify=[Topic.READY],
        )
    )


def register(registry: Registry) -> None:
    """Add the stack workflow to `registry`."""
    registry.workflow(
        NAME,
        inputs=StackInputs,
        description="The cycles of a stack: a team of role agents (planner, builder, "
        "communicator, reviewer) working on one idea; started from the stacks page.",
    )(stack)
