"""Progress fields, usage totals and agent names on runs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.domain.runs import RunFilter
from agentdeck.engine.context import RunContext, Usage
from agentdeck.engine.registry import Registry


def _register(registry: Registry) -> None:
    async def scored(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.set_progress(stage="producing", attempt=1)

        def paid(result: Any) -> list[Usage]:
            return [
                Usage("writer", "openai", "gpt-4o", 100, 20, 5, Decimal("0.0125")),
                Usage("judge", "acme", "mystery", 7, 3, 0, None),  # no known price
            ]

        await ctx.step("call", lambda: "draft", usage=paid)
        await ctx.set_progress(stage="evaluating", score=0.75, verdict="passed")
        return "ok"

    registry.workflow("scored", agents=lambda inputs: [inputs["producer"], inputs["evaluator"]])(
        scored
    )


async def test_progress_and_usage_totals_land_on_the_run(deck: Deck, registry: Registry) -> None:
    _register(registry)
    worker = deck.worker(concurrency=2)
    await worker.start(loops=False)
    run = await deck.submit("scored", {"producer": "writer", "evaluator": "judge"})
    assert run.agents == ["judge", "writer"]
    await worker.drain()
    run = await deck.get(run.id)
    assert run.status == "succeeded"
    assert (run.stage, run.attempt, run.score, run.verdict) == ("evaluating", 1, 0.75, "passed")
    assert run.cost_usd == Decimal("0.0125")
    assert run.cost_unknown is True  # one call had no price: the total is a lower bound
    assert (run.input_tokens, run.output_tokens, run.cached_tokens) == (107, 23, 5)


async def test_set_progress_rejects_unknown_fields(deck: Deck, registry: Registry) -> None:
    @registry.workflow("bad_progress")
    async def bad(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.set_progress(colour="red")

    worker = deck.worker(concurrency=1)
    await worker.start(loops=False)
    run = await deck.submit("bad_progress")
    await worker.drain()
    run = await deck.get(run.id)
    assert run.status == "failed"
    assert "unknown fields ['colour']" in (run.error or "")


@pytest.mark.parametrize("agent", ["writer", "judge"])
async def test_list_filters_runs_by_agent(deck: Deck, registry: Registry, agent: str) -> None:
    _register(registry)
    mine = await deck.submit("scored", {"producer": "writer", "evaluator": "judge"})
    await deck.submit("scored", {"producer": "other", "evaluator": "another"})
    page = await deck.list(RunFilter(agent=agent))
    assert [r.id for r in page.items] == [mine.id]
    retried_from = await deck.cancel(mine.id)
    retry = await deck.retry(retried_from.id)
    assert retry.agents == ["judge", "writer"]
