"""The bench workflows, and a Deck that knows them.

Load them into a worker process with AGENTDECK_WORKFLOW_MODULES=bench.workflows.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings

NOOP = "bench.noop"
AGENT_LOOP = "bench.agent_loop"
STAMP = "bench.stamp"
TICKER = "bench.ticker"
TICK = "bench.tick"
LOOP_STEPS = ("produce", "evaluate", "revise")


def _nothing() -> None:
    return None


async def noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
    """W1: one step that does nothing."""
    await ctx.step("noop", _nothing)


async def agent_loop(ctx: RunContext, inputs: dict[str, Any]) -> dict[str, int]:
    """W2: produce → evaluate → revise, each sleeping then returning `size` characters."""
    sleep_s = float(inputs.get("sleep_s", 0.2))
    size = int(inputs.get("size", 2048))

    async def think(key: str) -> str:
        await asyncio.sleep(sleep_s)
        return (key * (size // len(key) + 1))[:size]

    text = ""
    for key in LOOP_STEPS:
        text = await ctx.step(key, partial(think, key))
    return {"chars": len(text)}


async def stamp(ctx: RunContext, inputs: dict[str, Any]) -> float:
    """W3: one step returning the wall-clock time it started (comparable across processes)."""
    return await ctx.step("stamp", time.time)


async def ticker(ctx: RunContext, inputs: dict[str, Any]) -> int:
    """W5: emit `count` "bench.tick" events (data: seq) at a steady `rate` per second.

    The n-th is emitted at start + n / rate on the event loop's clock, so a late wake-up
    does not slow the rate down; each emit is committed by the worker's writer.
    """
    rate = float(inputs.get("rate", 50))
    count = int(inputs["count"])
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(count):
        ctx.emit(TICK, seq=n)
        await asyncio.sleep(max(0.0, start + (n + 1) / rate - loop.time()))
    return count


def register(registry: Registry) -> None:
    registry.workflow(NOOP)(noop)
    registry.workflow(AGENT_LOOP)(agent_loop)
    registry.workflow(STAMP)(stamp)
    registry.workflow(TICKER)(ticker)


def open_deck(url: str) -> Deck:
    """A Deck on `url` (migrated) with the bench workflows registered."""
    registry = Registry()
    register(registry)
    return Deck(Settings(database_url=url), registry=registry)
