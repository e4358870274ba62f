"""What the dashboard shows where a new user tripped: unknown URLs answer an HTML page (the
API keeps JSON), a plan run has no empty score chart, and a paused plan runs no task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.deck import Deck
from tests.web.plan_fixtures import asgi_client, open_plan_deck


@pytest.fixture
async def deck(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Deck]:
    deck = await open_plan_deck(database_url, monkeypatch, tmp_path)
    await deck.worker(4).start()
    try:
        yield deck
    finally:
        await deck.close()


@pytest.fixture
async def http(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    async for client in asgi_client(deck):
        yield client


async def test_an_unknown_dashboard_url_is_an_html_page_and_the_api_stays_json(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at /no/such/page" in page.text
    assert '<a href="/runs">Runs</a>' in page.text

    for path in ("/api/no-such-thing", "/api", "/no/such/page?format=json"):
        answer = await http.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("application/json"), path
        assert "no such path" in answer.json()["error"]["message"]
    unknown_run = await http.get("/runs/run_nope")
    assert unknown_run.status_code == 404
    assert unknown_run.headers["content-type"].startswith("text/html")


async def test_a_plan_run_shows_no_score_chart_and_a_loop_run_does(
    http: httpx.AsyncClient, deck: Deck
) -> None:
    plan = await deck.submit("plan", {"plan": [{"id": "A", "title": "Only"}]})
    loop = await deck.submit("loop", {"task": {"topic": "queues"}})
    assert (await deck.wait(plan.id, timeout=30)).status == "succeeded"
    assert (await deck.wait(loop.id, timeout=30)).status == "succeeded"
    plan_page = (await http.get(f"/runs/{plan.id}")).text
    assert "Score by attempt" not in plan_page
    assert "Score by attempt" not in (await http.get(f"/runs/{plan.id}?fragment=parts")).text
    assert "Score by attempt" in (await http.get(f"/runs/{loop.id}")).text


async def test_a_paused_plan_shows_no_task_as_running(
    http: httpx.AsyncClient, deck: Deck, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = deck.llm.factory.simulator("executor")
    original = model.request
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await release.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(model, "request", held)
    tasks = [{"id": "A", "title": "First"}, {"id": "B", "title": "Then", "prerequisites": ["A"]}]
    run = await deck.submit("plan", {"plan": tasks, "dispatch": "internal"})
    await asyncio.wait_for(entered.wait(), 30)
    await deck.pause(run.id)
    release.set()
    paused = await deck.wait(run.id, timeout=30)
    assert paused.status == "paused"
    stored = {t.key: t.status for t in await deck.tasks.tasks(run.id)}
    assert stored["A"] == "running"  # the store keeps it until the resumed run settles it

    twin = (await http.get(f"/runs/{run.id}/execution?format=json")).json()
    shown = {t["key"]: (t["status"], t["reason"]) for t in twin["tasks"]["items"]}
    assert shown["A"][0] == "ready"
    assert "paused with the run" in shown["A"][1]
    assert "running" not in twin["tasks"]["counts"]
    html = (await http.get(f"/runs/{run.id}/execution")).text
    assert "t-running" not in html

    await deck.resume(run.id)
    assert (await deck.wait(run.id, timeout=30)).status == "succeeded"
