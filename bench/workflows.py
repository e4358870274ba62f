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


def register(registry: Registry) -> None:
    registry.workflow(NOOP)(noop)
    registry.workflow(AGENT_LOOP)(agent_loop)
    registry.workflow(STAMP)(stamp)


def open_deck(url: str) -> Deck:
    """A Deck on `url` (migrated) with the bench workflows registered."""
    registry = Registry()
    register(registry)
    return Deck(Settings(database_url=url), registry=registry)
