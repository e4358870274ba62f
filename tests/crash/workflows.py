"""Workflows the crash tests load into real `agentdeck worker` processes."""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry

STEPS = ("produce", "evaluate", "revise")


async def three_steps(ctx: RunContext, inputs: dict[str, Any]) -> Any:
    """Three slow steps; each result names the process that executed it."""
    log_path = os.environ["AGENTDECK_CRASH_LOG"]
    results = []
    for key in STEPS:

        async def execute(key: str = key) -> dict[str, Any]:
            # Appends under O_APPEND are atomic at this size: one line per execution.
            with open(log_path, "a") as log:  # noqa: ASYNC230 - one short line
                log.write(f"{ctx.run_id} {key} {os.getpid()}\n")
            await asyncio.sleep(random.uniform(0.3, 0.6))
            return {"key": key, "pid": os.getpid(), "n": inputs["n"]}

        results.append(await ctx.step(key, execute))
    return results


async def held_until_released(ctx: RunContext, inputs: dict[str, Any]) -> Any:
    """A step that lasts until the file `inputs["release"]` exists, then one more."""

    async def hold() -> int:
        while not os.path.exists(inputs["release"]):  # noqa: ASYNC110, ASYNC240 - tiny, polled
            await asyncio.sleep(0.05)
        return os.getpid()

    held_by = await ctx.step("held", hold)
    return {"held_by": held_by, "after": await ctx.step("after", os.getpid)}


def register(registry: Registry) -> None:
    registry.workflow("three_steps")(three_steps)
    registry.workflow("held_until_released")(held_until_released)
