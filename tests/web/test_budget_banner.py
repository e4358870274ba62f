"""The budget banner: every dashboard page names an unfinished build that crossed a budget
threshold, with its percent and a link, until the build finishes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings
from tests.llm.decks import drain
from tests.sample_repo import make_sample_repo
from tests.workflows.test_build import FAST_TESTS


@pytest.fixture
async def deck(database_url: str, tmp_path: Path) -> AsyncIterator[Deck]:
    registry = Registry()
    workflows.register(registry)
    settings = fast_settings(database_url, simulator="always", builds_dir=tmp_path / "builds")
    async with Deck(settings, registry=registry, migrate=False) as deck:
        yield deck


@pytest.fixture
async def client(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(deck))
    async with httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test") as client:
        yield client


@pytest.fixture
def priced_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each simulated call costs one cent, as a provider's would."""
    monkeypatch.setattr("agentdeck.llm.calls.cost_of", lambda *_: Decimal("0.01"))


@pytest.mark.usefixtures("priced_calls")
async def test_a_build_over_a_budget_threshold_is_named_on_every_page(
    deck: Deck, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pages = ["/", "/runs", "/builds", "/agents"]
    for url in pages:
        assert 'data-testid="budget-alert"' not in (await client.get(url)).text, url
    inputs = {
        "repository": str(make_sample_repo(tmp_path / "repo")),
        "request": "Add agents: Scout",
        "worktrees_dir": str(tmp_path / "worktrees"),
        "test_command": FAST_TESTS,
        "budget_usd": 0.04,
    }
    run = await deck.submit("build", inputs)
    await drain(deck)
    assert (await deck.get(run.id)).status == "waiting"
    alerts = [e.data for e in await deck.events(run.id) if e.kind == "build.budget_alert"]
    assert alerts, "the build crossed no threshold"
    for url in pages:
        html = (await client.get(url)).text
        assert 'data-testid="budget-alert"' in html, url
        assert f'href="/builds/{run.id}">Add agents: Scout</a>' in html, url
        assert f"has spent {alerts[-1]['threshold']} % of its budget" in html, url

    await deck.cancel(run.id)
    for url in pages:
        assert 'data-testid="budget-alert"' not in (await client.get(url)).text, url
