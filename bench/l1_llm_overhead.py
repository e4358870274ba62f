"""L1 LLM-layer overhead: one agent call (simulator, zero latency, journaled) vs `model.request`.

`python -m bench --workload L1 [--db sqlite|postgres] [--reps 3] [--calls 2000] [--lanes 50]`
prints one JSON line (BENCH.md format). Both sides make the same calls on the same pydantic-ai model
(the simulator answering as the shipped `producer` agent) in the same shape: `lanes`
concurrent sequences of calls. The layer's side is `AgentRunner.run` inside runs — each
call a journaled step with its usage row, an event, budget and limit checks — and its
time runs from its first call's start to its last call's commit (claims excluded).

Metrics: `overhead_per_call_us` = (layer wall - bare wall) / calls with `lanes` lanes
(the shape of many agents at once, where commits are grouped); the same with one lane
(`sequential_overhead_per_call_us`: every call waits for its own commit);
`journal_floor_per_call_us`, the same calls as bare `ctx.step`s with a usage row (what
any journaled call costs in the engine), and `layer_over_floor_per_call_us`, the agent
layer's own share; `*_cpu_per_call_us`, CPU time of the process (all threads) per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelRequest, UserPromptPart
from pydantic_ai.models import ModelRequestParameters

from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext, Usage
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings
from bench.databases import fresh_database
from bench.harness import FinishWatch, check_all_succeeded, log, start_deck

NAME = "L1"
DEFAULTS: dict[str, Any] = {
    "calls": 2000,
    "lanes": 50,
    "sequential_calls": 500,
    "agent": "producer",
}
PROMPT = "Write a short note on durable execution for AI agents. " * 4
WORKFLOW = "bench.l1_calls"


def _open(url: str) -> tuple[Deck, Registry]:
    registry = Registry()
    settings = Settings(database_url=url, simulator="always")
    return Deck(settings, registry=registry), registry


async def _bare(deck: Deck, agent: str, calls: int, lanes: int) -> tuple[float, float]:
    """(wall, cpu) seconds for `calls` bare `model.request` calls in `lanes` lanes."""
    configured = await deck.agents.configured(agent)
    model = deck.llm.factory.simulator(configured.role)
    params = ModelRequestParameters()

    async def lane(n: int) -> None:
        for _ in range(n):
            messages: list[ModelMessage] = [
                ModelRequest(parts=[UserPromptPart(PROMPT)], instructions=configured.instructions)
            ]
            await model.request(messages, configured.model_settings, params)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane(len(share)) for share in _shares(calls, lanes)))
    return time.perf_counter() - wall, time.process_time() - cpu


Call = Callable[[RunContext, int], Awaitable[object]]


async def _journaled(
    deck: Deck, registry: Registry, name: str, call: Call, calls: int, lanes: int
) -> tuple[float, float]:
    """(wall, cpu) seconds for `calls` calls made by `lanes` concurrent runs of a workflow.

    Timed from the first call's start to the last call's end (its commit), in the runs
    themselves: claiming and finishing the runs are not part of a call.
    """
    stamps: list[tuple[float, float]] = []
    cpu_marks: list[float] = []

    async def calls_run(ctx: RunContext, inputs: dict[str, Any]) -> int:
        first = time.perf_counter()
        if not cpu_marks:
            cpu_marks.append(time.process_time())
        for i in inputs["keys"]:
            await call(ctx, i)
        stamps.append((first, time.perf_counter()))
        cpu_marks.append(time.process_time())
        return len(inputs["keys"])

    registry.workflow(name)(calls_run)
    worker = deck.worker(max(lanes, 1))
    await worker.start()
    await asyncio.sleep(0.1)
    shares = _shares(calls, lanes)
    watch = FinishWatch(deck, len(shares))
    await deck.submit_many([Submission(name, {"keys": share}) for share in shares])
    await watch.wait(timeout=600)
    await worker.stop()
    wall = max(end for _, end in stamps) - min(start for start, _ in stamps)
    return wall, max(cpu_marks) - min(cpu_marks)


async def _layer(
    deck: Deck, registry: Registry, agent: str, calls: int, lanes: int
) -> tuple[float, float]:
    """Each call through the agent layer: `AgentRunner.run`."""
    runner = deck.llm.runner

    async def call(ctx: RunContext, i: int) -> object:
        return await runner.run(ctx, agent, PROMPT, key=f"c{i}")

    return await _journaled(deck, registry, f"{WORKFLOW}.layer", call, calls, lanes)


async def _floor(
    deck: Deck, registry: Registry, agent: str, calls: int, lanes: int
) -> tuple[float, float]:
    """Each call as the least any journaled call costs: a bare step with its usage row."""
    configured = await deck.agents.configured(agent)
    model = deck.llm.factory.simulator(configured.role)
    params = ModelRequestParameters()
    row = [Usage(agent, "simulator", "simulator", 1, 1, 0, Decimal(0))]

    async def request() -> dict[str, Any]:
        messages: list[ModelMessage] = [
            ModelRequest(parts=[UserPromptPart(PROMPT)], instructions=configured.instructions)
        ]
        response = await model.request(messages, configured.model_settings, params)
        return {"text": response.parts[0].content}  # type: ignore[union-attr]

    async def call(ctx: RunContext, i: int) -> object:
        return await ctx.step(f"c{i}", request, usage=lambda _: row)

    return await _journaled(deck, registry, f"{WORKFLOW}.floor", call, calls, lanes)


def _shares(calls: int, lanes: int) -> list[list[int]]:
    lanes = max(1, min(lanes, calls))
    return [list(range(lane, calls, lanes)) for lane in range(lanes)]


async def _one(db: str, params: dict[str, Any], lanes: int) -> dict[str, float]:
    """Seconds of wall and CPU time of each side, on a fresh database."""
    calls, agent = params["calls"], params["agent"]
    with fresh_database(db) as url:
        deck, registry = _open(url)
        try:
            await start_deck(deck)
            deck.llm.warm()
            await _bare(deck, agent, 200, lanes)  # warm up
            bare = await _bare(deck, agent, calls, lanes)
            floor = await _floor(deck, registry, agent, calls, lanes)
            layer = await _layer(deck, registry, agent, calls, lanes)
            await check_all_succeeded(deck, 2 * len(_shares(calls, lanes)))
        finally:
            await deck.close()
    return {
        "bare": bare[0],
        "bare_cpu": bare[1],
        "floor": floor[0],
        "floor_cpu": floor[1],
        "layer": layer[0],
        "layer_cpu": layer[1],
    }


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    calls, lanes = params["calls"], params["lanes"]
    t = await _one(db, params, lanes)
    seq_calls = min(calls, params["sequential_calls"])
    seq = await _one(db, {**params, "calls": seq_calls}, 1)
    per = 1e6 / calls
    result = {
        "overhead_per_call_us": (t["layer"] - t["bare"]) * per,
        "sequential_overhead_per_call_us": (seq["layer"] - seq["bare"]) * 1e6 / seq_calls,
        "bare_per_call_us": t["bare"] * per,
        "layer_per_call_us": t["layer"] * per,
        "journal_floor_per_call_us": t["floor"] * per,
        "layer_over_floor_per_call_us": (t["layer"] - t["floor"]) * per,
        "bare_cpu_per_call_us": t["bare_cpu"] * per,
        "floor_cpu_per_call_us": t["floor_cpu"] * per,
        "layer_cpu_per_call_us": t["layer_cpu"] * per,
    }
    log(
        f"  L1 {db}: overhead {result['overhead_per_call_us']:.0f} us/call ({lanes} lanes; "
        f"{result['layer_over_floor_per_call_us']:.0f} of it above a bare journaled step), "
        f"sequential {result['sequential_overhead_per_call_us']:.0f} us/call"
    )
    return result
