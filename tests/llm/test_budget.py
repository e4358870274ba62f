"""Budgets pause, not kill: a call that could overrun parks the run at the `budget` gate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.llm.decks import CANARY, DeckMaker, drain
from tests.llm.provider_server import Ok, ProviderServer

# A call reserves about $0.00065 (1,000 output tokens of gpt-4o-mini plus the prompt)
# and really costs about $0.00054 (900 output tokens): the second call cannot fit $0.0009.
SPENDER = """
agents:
  - name: spender
    role: producer
    models: [openai:gpt-4o-mini]
    max_output_tokens: 1000
    {budget}
"""


@pytest.fixture
def deck(
    make_deck: DeckMaker,
    registry: Registry,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Deck:
    """A Deck whose agent `spender` pays for each call (this module's own `deck`)."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    provider.script("gpt-4o-mini", Ok("paid answer", input_tokens=11, output_tokens=900))
    budget = getattr(request, "param", "budget_usd: 0.0009")
    deck = make_deck(
        SPENDER.format(budget=budget), provider_base_urls={"openai": f"{provider.url}/v1"}
    )

    @registry.workflow("three")
    async def three(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        texts = []
        for n in range(3):
            reply = await deck.llm.runner.run(ctx, "spender", f"call {n}", key=f"call:{n}")
            texts.append(reply.text)
        return texts

    return deck


async def spent(deck: Deck, run_id: str) -> Decimal:
    return (await deck.costs.of_run(run_id)).cost_usd


async def test_a_small_budget_parks_at_the_gate_before_overspending_and_approval_resumes(
    deck: Deck, provider: ProviderServer
) -> None:
    run = await deck.submit("three", {})
    await drain(deck)

    parked = await deck.get(run.id)
    assert (parked.status, parked.wait_kind, parked.waiting_on) == ("waiting", "gate", "budget")
    assert provider.count("gpt-4o-mini") == 1
    assert await spent(deck, run.id) <= Decimal("0.0009")
    [exceeded] = [e for e in await deck.events(run.id) if e.kind == "budget.exceeded"]
    assert exceeded.data["scope"] == "agent:spender"
    assert exceeded.data["limit_usd"] == "0.0009"
    assert Decimal(exceeded.data["spent_usd"]) == await spent(deck, run.id)

    await deck.decide(run.id, "budget", "approve", data={"budget_usd": 0.01})
    await drain(deck)

    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    assert done.result == ["paid answer"] * 3
    assert provider.count("gpt-4o-mini") == 3  # the first paid call was not made again
    assert await spent(deck, run.id) <= Decimal("0.01")
    total = await deck.costs.of_run(run.id)
    assert total.calls == 3
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("budget.raised") == 1
    assert kinds.count("llm.answered") == 3


async def test_declining_the_budget_gate_fails_the_run_with_the_reason(
    deck: Deck, provider: ProviderServer
) -> None:
    run = await deck.submit("three", {})
    await drain(deck)
    await deck.decide(run.id, "budget", "reject", comment="too expensive")
    await drain(deck)

    failed = await deck.get(run.id)
    assert failed.status == "failed"
    assert "BudgetExceeded" in (failed.error or "")
    assert "too expensive" in (failed.error or "")
    assert provider.count("gpt-4o-mini") == 1


async def test_approving_without_an_amount_raises_the_budget_enough_for_the_call(
    deck: Deck, provider: ProviderServer
) -> None:
    run = await deck.submit("three", {})
    await drain(deck)
    for _ in range(3):  # each raise may be followed by another gate; never more than calls
        current = await deck.get(run.id)
        if current.status != "waiting":
            break
        await deck.decide(run.id, "budget", "approve")
        await drain(deck)

    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    assert provider.count("gpt-4o-mini") == 3
    raised = [e.data for e in await deck.events(run.id) if e.kind == "budget.raised"]
    assert Decimal(raised[0]["limit_usd"]) >= Decimal("0.0018")


@pytest.mark.parametrize("deck", ["budget_usd: null"], indirect=True)
async def test_a_run_budget_from_the_inputs_parks_the_run_too(
    deck: Deck, provider: ProviderServer
) -> None:
    run = await deck.submit("three", {"budget_usd": "0.0009"})
    await drain(deck)

    parked = await deck.get(run.id)
    assert parked.waiting_on == "budget"
    [exceeded] = [e for e in await deck.events(run.id) if e.kind == "budget.exceeded"]
    assert exceeded.data["scope"] == "run"
    assert provider.count("gpt-4o-mini") == 1


async def test_an_unreadable_amount_opens_the_gate_again_instead_of_failing(
    deck: Deck, provider: ProviderServer
) -> None:
    run = await deck.submit("three", {})
    await drain(deck)
    await deck.decide(run.id, "budget", "approve", data={"budget_usd": "lots"})
    await drain(deck)

    again = await deck.get(run.id)
    assert again.waiting_on == "budget"
    assert "budget.invalid" in [e.kind for e in await deck.events(run.id)]
    await deck.decide(run.id, "budget", "approve", data={"budget_usd": "0.01"})
    await drain(deck)
    assert (await deck.get(run.id)).status == "succeeded"
    assert provider.count("gpt-4o-mini") == 3


async def test_a_malformed_run_budget_fails_the_run_clearly(
    deck: Deck, provider: ProviderServer
) -> None:
    run = await deck.submit("three", {"budget_usd": "a lot"})
    await drain(deck)
    failed = await deck.get(run.id)
    assert failed.status == "failed"
    assert "inputs.budget_usd must be an amount of USD" in (failed.error or "")
    assert provider.count("gpt-4o-mini") == 0


async def test_a_call_that_costs_more_than_reserved_is_shown_as_an_overrun_and_parks_the_run(
    deck: Deck, provider: ProviderServer
) -> None:
    # 2,000 output tokens reported for a call reserved at 1,000: about $0.0012 of $0.0009
    provider.script("gpt-4o-mini", Ok("long answer", input_tokens=11, output_tokens=2000))
    run = await deck.submit("three", {})
    await drain(deck)

    parked = await deck.get(run.id)
    assert parked.waiting_on == "budget"
    assert provider.count("gpt-4o-mini") == 1  # no second call past the budget
    cost = await spent(deck, run.id)
    assert cost > Decimal("0.0009")
    events = await deck.events(run.id)
    [overrun] = [e for e in events if e.kind == "budget.overrun"]
    assert overrun.data["scope"] == "agent:spender"
    assert Decimal(overrun.data["overrun_usd"]) == cost - Decimal("0.0009")
    assert f"overrun by ${cost - Decimal('0.0009')}" in (overrun.message or "")
    [exceeded] = [e for e in events if e.kind == "budget.exceeded"]
    assert "is overrun by $" in (exceeded.message or "")
    assert "$0 left" not in (exceeded.message or "")
    assert [e.kind for e in events].index("budget.overrun") < [e.kind for e in events].index(
        "budget.exceeded"
    )
