"""Stored content never breaks a page or an API answer, however odd it is.

Rows written before the edge checked values (or by another program on the same database)
may hold JSON nested ~950 levels deep or a media type with control characters; reading
them must answer 200 with the content shown bounded, never 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from agentdeck.deck import Deck
from agentdeck.store import schema
from tests.web.plan_fixtures import asgi_client, open_plan_deck

DEPTH = 950


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for n in range(levels):
        value = {"k": value} if n % 2 else [value]
    return value


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


async def spoil(deck: Deck, table: sa.Table, where: Any, **values: Any) -> None:
    """Write `values` straight into the rows, as no check of agentdeck would let through."""

    def write(conn: sa.Connection) -> None:
        assert conn.execute(sa.update(table).where(where).values(**values)).rowcount > 0

    await deck.db.write(write)


async def finished_plan(deck: Deck) -> str:
    run = await deck.submit("plan", {"plan": [{"id": "A", "title": "One"}], "dispatch": "internal"})
    run = await deck.wait(run.id, 30)
    assert run.status == "succeeded", run.error
    return run.id


def ok(response: httpx.Response) -> str:
    assert response.status_code == 200, (response.request.url, response.text[:500])
    return response.text


async def test_deeply_nested_stored_values_are_shown_bounded(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    run_id = await finished_plan(deck)
    text = json.dumps(deep(DEPTH))
    tasks = schema.metadata.tables["tasks"]
    artifacts = schema.metadata.tables["artifacts"]
    steps = schema.metadata.tables["steps"]
    events = schema.metadata.tables["events"]
    runs = schema.metadata.tables["runs"]
    await spoil(deck, tasks, tasks.c.run_id == run_id, output=deep(DEPTH))
    await spoil(deck, artifacts, artifacts.c.run_id == run_id, content=text)
    await spoil(deck, steps, steps.c.run_id == run_id, result=deep(DEPTH))
    await spoil(deck, events, events.c.run_id == run_id, data=deep(DEPTH))
    await spoil(deck, runs, runs.c.id == run_id, result=deep(DEPTH))

    task_list = json.loads(ok(await http.get(f"/api/runs/{run_id}/tasks")))
    output = task_list["items"][0]["output"]
    assert "deeper than" in json.dumps(output)
    ok(await http.get(f"/api/tasks/{task_list['items'][0]['id']}"))
    ok(await http.get(f"/api/runs/{run_id}"))
    ok(await http.get(f"/api/runs/{run_id}/steps"))
    ok(await http.get(f"/api/runs/{run_id}/events"))
    ok(await http.get("/api/runs"))
    page = ok(await http.get(f"/runs/{run_id}"))
    assert "deeper than" in page
    ok(await http.get(f"/runs/{run_id}", params={"format": "json"}))
    ok(await http.get(f"/runs/{run_id}/execution"))
    ok(await http.get(f"/runs/{run_id}/execution", params={"format": "json"}))
    for artifact in json.loads(ok(await http.get(f"/api/runs/{run_id}/artifacts"))):
        assert ok(await http.get(artifact["url"])) == text  # the raw content, as stored


@pytest.mark.parametrize("media_type", ["text/\x01plain", "text/plaïn", "not a type", "a/b\nX: y"])
async def test_an_odd_stored_media_type_is_served_as_bytes(
    deck: Deck, http: httpx.AsyncClient, media_type: str
) -> None:
    run_id = await finished_plan(deck)
    artifacts = schema.metadata.tables["artifacts"]
    await spoil(deck, artifacts, artifacts.c.run_id == run_id, media_type=media_type)
    for artifact in json.loads(ok(await http.get(f"/api/runs/{run_id}/artifacts"))):
        raw = await http.get(artifact["url"])
        ok(raw)
        assert raw.headers["content-type"] == "application/octet-stream"
        assert "sandbox" in raw.headers["content-security-policy"]
    ok(await http.get(f"/runs/{run_id}"))
