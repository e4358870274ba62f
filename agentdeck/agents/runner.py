"""The agent runner workflows call: every model call and tool call is a journaled engine step.

    reply = await run_agent(ctx, "evaluator", prompt, key="evaluate:2")
    verdict = reply.json()

A call is one step (`llm:<key>`) whose result records the answer, the model that gave
it, tokens, cost and every attempt; its usage row commits in the same transaction, so
a resumed run never pays twice. An agent with tools runs a short tool loop: each
model turn is a step (`llm:<key>#<n>`) and each tool call one too (`tool:<key>:<id>`),
an MCP server's tools (agents/mcp.py) as well as the registry's.
The call path is `Model.request` itself, not pydantic-ai's Agent loop, which costs
milliseconds of CPU per call — too much for thousands of agents at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from pydantic import BaseModel
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_core import to_jsonable_python

from agentdeck.agents.budget import BudgetLedger
from agentdeck.agents.llm_layer import runner_of
from agentdeck.agents.mcp import McpSession
from agentdeck.agents.reply import AgentReply, reply_from_records
from agentdeck.agents.spec import ConfiguredAgent, restore, snapshot
from agentdeck.agents.tools import ToolRegistry, default_tools
from agentdeck.agents.wire import OUTPUT_TOOL, response_of, structured, text_of, texts
from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.retry import NO_RETRY
from agentdeck.engine.context import RunContext, Usage
from agentdeck.llm.calls import Attempt, ModelCaller, Throttles, input_token_bound, worst_case
from agentdeck.llm.limits import Limits, Throttle
from agentdeck.llm.names import SIMULATOR_REF, ModelRef, parse_model_name
from agentdeck.llm.providers import ModelFactory

log = logging.getLogger(__name__)
NO_TOOLS = ModelRequestParameters()
MAX_TOOL_ROUNDS = 8


class AgentDirectory(Protocol):
    """Where the runner finds agents by name (a KnownAgents, agents/llm_layer.py)."""

    async def configured(self, name: str) -> ConfiguredAgent: ...


class ToolLoopExceeded(AgentdeckError):
    """An agent kept calling tools past the round limit."""


@dataclass
class _RunState:
    """What the runner keeps per run for one execution; rebuilt by replay after a resume."""

    ledger: BudgetLedger
    counters: dict[str, int] = field(default_factory=dict)
    # stored agents as the run first saw them (journaled `agent-spec:<name>` steps)
    agents: dict[str, ConfiguredAgent] = field(default_factory=dict)
    agents_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # agent -> (its last answer, how many times in a row it gave it)
    repeats: dict[str, tuple[str, int]] = field(default_factory=dict)

    def repeated(self, agent: str, text: str) -> int:
        """Count `text` as `agent`'s latest answer; how many times in a row it gave it."""
        last, times = self.repeats.get(agent, ("", 0))
        times = times + 1 if text == last and text else 1
        self.repeats[agent] = (text, times)
        return times

    def next_key(self, agent: str) -> str:
        n = self.counters.get(agent, 0)
        self.counters[agent] = n + 1
        return f"{agent}:{n}"


class AgentRunner:
    """Runs agents inside workflows: budgets, limits, fallback, journaling."""

    def __init__(
        self,
        directory: AgentDirectory,
        factory: ModelFactory,
        *,
        limits: Limits | None = None,
        tools: ToolRegistry | None = None,
    ) -> None:
        self.directory = directory
        self.factory = factory
        self.limits = limits or Limits(dict(factory.config.provider_limits))
        self.tools = tools or default_tools
        self.caller = ModelCaller(factory)
        self._runs: weakref.WeakKeyDictionary[RunContext, _RunState] = weakref.WeakKeyDictionary()

    @property
    def offline(self) -> bool:
        """True when the simulator answers every agent (no provider key, or forced)."""
        return self.factory.offline

    def _state(self, ctx: RunContext) -> _RunState:
        state = self._runs.get(ctx)
        if state is None:
            state = self._runs[ctx] = _RunState(BudgetLedger(ctx.inputs.get("budget_usd")))
        return state

    async def run(
        self,
        ctx: RunContext,
        agent: str,
        prompt: str,
        *,
        key: str | None = None,
        role: str | None = None,
        models: Sequence[str] | None = None,
        output: type[BaseModel] | None = None,
    ) -> AgentReply:
        """Ask `agent` to answer `prompt`, as journaled steps of the run.

        `key` names the call within the run (e.g. "evaluate:2") and must be unique in it;
        by default the n-th call of an agent in the run is `<agent>:<n>`. `models`, when
        given, replaces the agent's chain for this call (a build's mode picks it).
        `output` asks for structured output of that shape, as pydantic-ai's output tools do: the
        model is offered a `final_result` tool taking it, and the reply's text is the JSON it
        was called with (a model that answers in text instead is read as before).
        """
        state = self._state(ctx)
        configured = await self._agent(ctx, state, agent)
        if models:
            endpoints = self.factory.config.endpoints
            chain = tuple(parse_model_name(m, endpoints) for m in models)
            configured = dataclasses.replace(configured, chain=chain)
        if role is not None and role != configured.role:
            # one agent may hold several roles of a workflow: it answers in the one asked
            spec = configured.spec.model_copy(update={"role": role})
            configured = dataclasses.replace(configured, spec=spec)
        key = key or state.next_key(configured.name)
        messages: list[ModelMessage] = [
            ModelRequest(parts=[UserPromptPart(prompt)], instructions=configured.instructions)
        ]
        if not configured.spec.tools and not configured.spec.mcp_servers:
            params = NO_TOOLS if output is None else structured(output)
            record = await self._model_step(ctx, state, configured, f"llm:{key}", messages, params)
            return reply_from_records([record], [f"llm:{key}"])
        return await self._tool_loop(ctx, state, configured, key, messages)

    async def _agent(self, ctx: RunContext, state: _RunState, name: str) -> ConfiguredAgent:
        """The agent as this run first saw it.

        A stored agent's spec is journaled at the run's first call of it (step
        `agent-spec:<name>`): editing or deleting the agent mid-run changes nothing for
        the run, on this worker or on one that resumes it. Agents of the agents file
        change only with the file, and are not journaled.
        """
        async with state.agents_lock:  # concurrent first calls journal it once
            known = state.agents.get(name)
            if known is not None:
                return known
            key = f"agent-spec:{name}"
            if ctx.is_replayed(key):
                data: dict[str, Any] = await ctx.step(key, _not_called)
                known = restore(data, list(self.factory.config.endpoints))
            else:
                known = await self.directory.configured(name)
                if known.read_only:
                    return known
                await ctx.step(key, partial(snapshot, known))
            state.agents[name] = known
            return known

    # --- one model call as one step -----------------------------------------

    async def _model_step(
        self,
        ctx: RunContext,
        state: _RunState,
        agent: ConfiguredAgent,
        step_key: str,
        messages: list[ModelMessage],
        params: ModelRequestParameters,
    ) -> dict[str, Any]:
        ledger = state.ledger
        if ctx.is_replayed(step_key):
            record: dict[str, Any] = await ctx.step(step_key, _not_called)
            await ledger.replay(ctx, agent.name, _cost(record), record.get("budget"))
            state.repeated(agent.name, record["text"])  # said already, when it was live
            return record
        refs = (SIMULATOR_REF,) if self.factory.offline else self._keyed_chain(agent)
        throttles = self._throttles(agent)
        if throttles is None and all(ref.is_simulator for ref in refs):
            tokens, reserve = 0, Decimal(0)  # free and unthrottled: nothing to size
        else:
            tokens = input_token_bound([agent.instructions, *texts(messages)], len(messages) + 1)
            reserve = _reservation(refs, tokens, agent.spec.max_output_tokens)
        scopes = await ledger.reserve(ctx, agent.name, agent.spec.budget_usd, reserve)
        ledger.start()
        cost: Decimal | None = None

        def call() -> Awaitable[dict[str, Any]]:
            return self._call(
                ctx, agent, step_key, refs, messages, params, tokens, throttles, state
            )

        try:
            if agent.spec.max_concurrency is None:
                record = await ctx.step(step_key, call, retry=NO_RETRY, usage=_usage_rows)
            else:
                async with self.limits.slot(agent.name, agent.spec.max_concurrency):
                    record = await ctx.step(step_key, call, retry=NO_RETRY, usage=_usage_rows)
            cost = _cost(record)
        finally:
            ledger.finish(scopes, reserve, cost)
        self._watch_loop(ctx, state, agent.name, record["text"])
        for scope, limit, spent in ledger.overruns(scopes):
            # the next call of this scope waits at the budget gate (spent > limit)
            ctx.emit(
                "budget.overrun",
                f"{agent.name} cost more than was reserved: the {scope} budget ${limit} is "
                f"overrun by ${spent - limit} (spent ${spent}); the next call waits at the "
                "`budget` gate",
                agent=agent.name,
                scope=scope,
                limit_usd=str(limit),
                spent_usd=str(spent),
                overrun_usd=str(spent - limit),
            )
        return record

    async def _call(
        self,
        ctx: RunContext,
        agent: ConfiguredAgent,
        step_key: str,
        refs: tuple[ModelRef, ...],
        messages: list[ModelMessage],
        params: ModelRequestParameters,
        input_tokens: int,
        throttles: Throttles | None,
        state: _RunState,
    ) -> dict[str, Any]:
        def on_attempt(attempt: Attempt) -> None:
            if attempt.failure is not None:
                ctx.emit(
                    "llm.attempt_failed",
                    f"{agent.name}: {attempt.ref.id} attempt {attempt.number} failed: "
                    f"{attempt.failure.error_class}",
                    agent=agent.name,
                    step=step_key,
                    **attempt.record(),
                )

        answer = await self.caller.request(
            refs,
            messages,
            agent.model_settings,
            params,
            role=agent.role,
            token_estimate=input_tokens + agent.spec.max_output_tokens,
            throttles=throttles,
            on_attempt=on_attempt,
            model_timeout=agent.spec.timeout_s,
        )
        response, usage = answer.response, answer.response.usage
        cost = None if answer.cost_usd is None else str(answer.cost_usd)
        record = {
            "agent": agent.name,
            "role": agent.role,
            "text": text_of(response),
            "tool_calls": [
                {"id": p.tool_call_id, "name": p.tool_name, "args": p.args_as_dict()}
                for p in response.parts
                if isinstance(p, ToolCallPart) and p.tool_name != OUTPUT_TOOL
            ],
            "provider": answer.ref.provider,
            "model": answer.ref.name,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cache_read_tokens,
            "cost_usd": cost,
            "latency_ms": round(answer.latency_ms, 3),
            "simulated": answer.ref.is_simulator,
            "attempts": [a.record() for a in answer.attempts],
            "budget": state.ledger.snapshot(),
        }
        ctx.emit(
            "llm.answered",
            f"{agent.name} answered by {answer.ref.id} in {answer.latency_ms:.0f} ms"
            + (f", ${cost}" if cost is not None else ", cost unknown"),
            agent=agent.name,
            step=step_key,
            provider=answer.ref.provider,
            model=answer.ref.name,
            attempt=answer.attempts[-1].number,
            attempts=len(answer.attempts),
            latency_ms=record["latency_ms"],
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cache_read_tokens,
            cost_usd=cost,
        )
        return record

    def _watch_loop(self, ctx: RunContext, state: _RunState, agent: str, text: str) -> None:
        """Say once when an agent has given the same answer `looping_after` times in a row."""
        times = state.repeated(agent, text)
        if times == self.factory.config.looping_after:
            ctx.emit(
                "agent.looping",
                f"{agent} gave the same answer {times} times in a row: it may be looping",
                agent=agent,
                times=times,
                answer=text[:300],
            )

    def _keyed_chain(self, agent: ConfiguredAgent) -> tuple[ModelRef, ...]:
        """The agent's models whose provider can be called; the others are left out, with
        one warning per agent and chain (not a failed attempt on every call).

        When no model of the chain has a key, the whole chain is kept: its attempts then
        fail with the missing keys named, which is the run's error.
        """
        usable, warning = self.factory.keyed_chain(agent.name, agent.chain)
        if warning is not None:
            log.warning("%s", warning)
        return usable or agent.chain

    def _throttles(self, agent: ConfiguredAgent) -> Throttles | None:
        """The buckets an attempt must pass: the agent's own and its model's provider's."""
        own = self.limits.agent(agent.name, agent.rate)
        if own is None and not self.factory.config.provider_limits:
            return None

        def throttles(ref: ModelRef) -> list[Throttle]:
            return [t for t in (own, self.limits.provider(ref.provider)) if t is not None]

        return throttles

    # --- agents with tools -------------------------------------------------------

    async def _tool_loop(
        self,
        ctx: RunContext,
        state: _RunState,
        agent: ConfiguredAgent,
        key: str,
        messages: list[ModelMessage],
    ) -> AgentReply:
        mcp = McpSession(agent)
        try:
            return await self._tool_rounds(ctx, state, agent, key, messages, mcp)
        finally:
            await mcp.close()  # in the task that opened it

    async def _tool_rounds(
        self,
        ctx: RunContext,
        state: _RunState,
        agent: ConfiguredAgent,
        key: str,
        messages: list[ModelMessage],
        mcp: McpSession,
    ) -> AgentReply:
        records: list[dict[str, Any]] = []
        steps: list[str] = []
        for turn in range(MAX_TOOL_ROUNDS):
            step_key = f"llm:{key}" if turn == 0 else f"llm:{key}#{turn}"
            # MCP servers start only for a live step: a replayed one needs no tool list
            if mcp.configured and not ctx.is_replayed(step_key):
                await mcp.open()
            params = ModelRequestParameters(
                function_tools=self.tools.definitions(list(agent.spec.tools)) + mcp.definitions(),
                allow_text_output=True,
            )
            record = await self._model_step(ctx, state, agent, step_key, messages, params)
            records.append(record)
            steps.append(step_key)
            calls = record["tool_calls"]
            if not calls:
                return reply_from_records(records, steps)
            messages.append(response_of(record))
            if mcp.configured and not all(ctx.is_replayed(f"tool:{key}:{c['id']}") for c in calls):
                await mcp.open()
            returns = await asyncio.gather(
                *(self._tool_step(ctx, agent, key, call, mcp) for call in calls)
            )
            steps += [f"tool:{key}:{c['id']}" for c in calls]
            messages.append(ModelRequest(parts=list(returns)))
        raise ToolLoopExceeded(
            f"agent {agent.name!r} was still calling tools after {MAX_TOOL_ROUNDS} rounds"
        )

    async def _tool_step(
        self,
        ctx: RunContext,
        agent: ConfiguredAgent,
        key: str,
        call: dict[str, Any],
        mcp: McpSession,
    ) -> ToolReturnPart:
        async def invoke() -> dict[str, Any]:
            outcome: dict[str, Any]
            server = mcp.server_of(call["name"])
            try:
                if server is None:
                    result = await self.tools.call(call["name"], call["args"])
                else:
                    result = await mcp.call(call["name"], call["args"])
                outcome = {"tool": call["name"], "ok": True, "content": to_jsonable_python(result)}
            except Exception as error:  # the model sees the error and may recover
                outcome = {"tool": call["name"], "ok": False, "content": f"error: {error}"}
            ctx.emit(
                "tool.called",
                f"{agent.name} called {call['name']}" + ("" if outcome["ok"] else " (failed)"),
                agent=agent.name,
                tool=call["name"],
                ok=outcome["ok"],
                **({} if server is None else {"mcp_server": server}),
            )
            return outcome

        done: dict[str, Any] = await ctx.step(f"tool:{key}:{call['id']}", invoke, retry=NO_RETRY)
        return ToolReturnPart(call["name"], done["content"], tool_call_id=call["id"])


# --- what a step records, and reading it back ----------------------------------


async def _not_called() -> dict[str, Any]:
    raise AssertionError("a replayed step is never executed")


def _usage_rows(record: dict[str, Any]) -> list[Usage]:
    return [
        Usage(
            agent=record["agent"],
            provider=record["provider"],
            model=record["model"],
            input_tokens=record["input_tokens"],
            output_tokens=record["output_tokens"],
            cached_tokens=record["cached_tokens"],
            cost_usd=_cost(record),
        )
    ]


def _cost(record: dict[str, Any]) -> Decimal | None:
    value = record.get("cost_usd")
    return None if value is None else Decimal(value)


def _reservation(refs: tuple[ModelRef, ...], input_tokens: int, output_tokens: int) -> Decimal:
    """The worst case over the chain; a model without a known price reserves nothing."""
    prices = [worst_case(ref, input_tokens, output_tokens) for ref in refs]
    return max((p for p in prices if p is not None), default=Decimal(0))


async def run_agent(
    ctx: RunContext, agent: str, prompt: str, *, key: str | None = None, role: str | None = None
) -> AgentReply:
    """Ask `agent` to answer `prompt` as a journaled step of the run; see AgentRunner.run."""
    return await runner_of(ctx).run(ctx, agent, prompt, key=key, role=role)
