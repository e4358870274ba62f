"""The overview flags what needs a person besides stalled runs: gates waiting longer than
gate_overdue_after, and agents that keep giving the same answer (looping)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from agentdeck.agents import runner_of
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("gated")
    async def gated(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return (await ctx.wait_for_gate("sign-off")).decision.value

    @registry.workflow("parrot")
    async def parrot(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        runner = runner_of(ctx)
        texts = [
            (await runner.run(ctx, "executor", "say the same", key=f"say:{n}")).text
            for n in range(int(inputs.get("times", 3)))
        ]
        await ctx.wait_for_gate("look")  # stays unfinished, as a looping run would
        return len(texts)

    return registry


async def open_deck(database_url: str, registry: Registry, **settings: Any) -> Deck:
    deck = Deck(
        fast_settings(database_url, simulator="always", **settings),
        registry=registry,
        migrate=False,
    )
    await deck.start()
    await deck.worker(concurrency=4).start()
    return deck


@pytest.fixture
async def overdue_deck(database_url: str, registry: Registry) -> AsyncIterator[Deck]:
    deck = await open_deck(database_url, registry, gate_overdue_after=timedelta(0))
    try:
        yield deck
    finally:
        await deck.close()


@pytest.fixture
async def deck(database_url: str, registry: Registry) -> AsyncIterator[Deck]:
    deck = await open_deck(database_url, registry)
    try:
        yield deck
    finally:
        await deck.close()


def client(deck: Deck) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(deck))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


async def test_a_gate_waiting_longer_than_the_setting_is_flagged_overdue(
    overdue_deck: Deck,
) -> None:
    run = await overdue_deck.submit("gated", {})
    assert (await overdue_deck.wait(run.id, timeout=10)).waiting_on == "sign-off"
    async with client(overdue_deck) as http:
        twin = (await http.get("/?format=json")).json()
        assert [r["id"] for r in twin["overdue_gates"]] == [run.id]
        assert (await http.get(f"/api/runs/{run.id}")).json()["overdue"] is True
        html = (await http.get("/")).text
    assert "Needs attention" in html
    assert "overdue gate" in html


async def test_a_fresh_gate_is_not_overdue_and_the_overview_stays_quiet(deck: Deck) -> None:
    run = await deck.submit("gated", {})
    await deck.wait(run.id, timeout=10)
    async with client(deck) as http:
        twin = (await http.get("/?format=json")).json()
        assert twin["overdue_gates"] == []
        assert twin["looping"] == []
        assert "Needs attention" not in (await http.get("/")).text


async def test_an_agent_giving_the_same_answer_three_times_is_flagged_looping(
    deck: Deck,
) -> None:
    once = await deck.submit("parrot", {"times": 2})
    looping = await deck.submit("parrot", {"times": 4})
    for run in (once, looping):
        await deck.wait(run.id, timeout=20)
    events = [e for e in await deck.events(looping.id) if e.kind == "agent.looping"]
    assert len(events) == 1  # said once, at the third answer
    assert events[0].data["agent"] == "executor"
    assert events[0].data["times"] == 3
    assert not [e for e in await deck.events(once.id) if e.kind == "agent.looping"]
    async with client(deck) as http:
        twin = (await http.get("/?format=json")).json()
        assert [(f["run_id"], f["agent"]) for f in twin["looping"]] == [(looping.id, "executor")]
        html = (await http.get("/")).text
    assert "executor gave the same answer 3 times in a row" in html
