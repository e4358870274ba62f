"""GET /api/runs/{id}/calls: every model call of a run, whose sums are the run's totals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.llm.decks import drain
from tests.web.test_api_runs import error_of


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    workflows.register(registry)
    return registry


@pytest.fixture
async def deck(database_url: str, registry: Registry) -> AsyncIterator[Deck]:
    """A started Deck whose agents are answered by the offline simulator."""
    settings = fast_settings(database_url, simulator="always")
    async with Deck(settings, registry=registry, migrate=False) as deck:
        yield deck


async def test_calls_of_a_loop_run_name_their_steps_and_sum_to_the_run_totals(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    submitted = await client.post(
        "/api/runs", json={"workflow": "loop", "inputs": {"pass_threshold": 0.8}}
    )
    run_id = submitted.json()["id"]
    await drain(deck)
    run = (await client.get(f"/api/runs/{run_id}")).json()
    assert run["status"] == "succeeded", run["error"]

    calls = (await client.get(f"/api/runs/{run_id}/calls")).json()
    # attempt 1 scores below 0.8, attempt 2 above: produce, evaluate, revise, evaluate
    assert [c["step_key"] for c in calls] == [
        "llm:produce:1",
        "llm:evaluate:1",
        "llm:revise:2",
        "llm:evaluate:2",
    ]
    assert [c["agent"] for c in calls] == ["producer", "evaluator", "reviser", "evaluator"]
    assert [c["id"] for c in calls] == sorted(c["id"] for c in calls)
    assert all(c["input_tokens"] > 0 and c["output_tokens"] > 0 for c in calls)
    for key in ("input_tokens", "output_tokens", "cached_tokens"):
        assert sum(c[key] for c in calls) == run[key], key
    assert run["cost_usd"] is not None
    assert sum(Decimal(c["cost_usd"]) for c in calls) == Decimal(run["cost_usd"])


async def test_calls_of_an_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    error = error_of(await client.get("/api/runs/run_missing/calls"), 404)
    assert "run_missing" in error["message"]
