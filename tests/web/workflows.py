"""Small workflows the API tests start: one that finishes, one that waits at a gate, one held."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry


class EchoInputs(BaseModel):
    """Inputs of `echo`: every field has a default, so `{}` starts a run."""

    model_config = ConfigDict(extra="forbid")

    topic: str = "demo"
    max_attempts: int = Field(3, ge=1, le=10)
    pass_threshold: float = Field(0.8, ge=0, le=1)
    agents: list[str] = Field(default_factory=lambda: ["writer"])


class Held:
    """Holds the `held` workflow inside its step until released."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.entered.set()
        await self.release.wait()
        return "released"


def register(registry: Registry, held: Held | None = None) -> None:
    """Add echo, gated and held to `registry`."""

    @registry.workflow(
        "echo",
        inputs=EchoInputs,
        description="Writes a draft and its score.",
        agents=lambda inputs: list(inputs.get("agents", [])),
    )
    async def echo(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.set_progress(stage="producing", attempt=1)
        draft = await ctx.step("draft", lambda: f"# {inputs['topic']}\n")
        await ctx.artifact("attempt-1.md", draft, attempt=1)
        ctx.emit("score", "scored 0.9", score=0.9)
        evaluation = json.dumps({"score": 0.9, "feedback": "fine"})
        await ctx.artifact("attempt-1.eval.json", evaluation, media_type="application/json")
        await ctx.set_progress(stage="evaluating", score=0.9, verdict="passed", progress=1.0)
        return {"echo": inputs["topic"]}

    @registry.workflow("gated", description="Waits at the `review` gate.")
    async def gated(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.step("plan", lambda: "the plan")
        decision = await ctx.wait_for_gate("review")
        return {"decision": decision.decision.value, "comment": decision.comment}

    if held is not None:

        @registry.workflow("held", description="Stays inside one step until released.")
        async def held_run(ctx: RunContext, inputs: dict[str, Any]) -> Any:
            return await ctx.step("hold", held)
