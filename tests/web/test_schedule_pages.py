"""The /schedules page: the list with next due time and last run link, the add form (CSRF,
errors shown beside their field with what was typed kept), enable, disable and remove."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def deck(database_url: str, registry: Registry, clock: FrozenClock) -> AsyncIterator[Deck]:
    async with Deck(
        fast_settings(database_url), registry=registry, clock=clock, migrate=False
    ) as deck:
        yield deck


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form with a CSRF token"
    return found.group(1)


async def test_schedules_page_adds_lists_and_changes_schedules(
    client: httpx.AsyncClient, deck: Deck, clock: FrozenClock
) -> None:
    page = await client.get("/schedules")
    assert page.status_code == 200
    assert 'href="/schedules"' in page.text  # in the navigation
    assert "No schedules yet." in page.text
    token = csrf_of(page.text)

    form = {"csrf_token": token, "name": "hourly", "workflow": "echo", "spec": "every 1 hour"}
    bad = await client.post("/schedules", data={**form, "spec": "at teatime"})
    assert bad.status_code == 422
    assert "daily HH:MM" in bad.text
    assert 'value="hourly"' in bad.text  # what was typed stays
    bad_inputs = await client.post("/schedules", data={**form, "inputs": "[1]"})
    assert bad_inputs.status_code == 422
    assert "inputs must be a JSON object" in bad_inputs.text
    unknown = await client.post("/schedules", data={**form, "workflow": "nope"})
    assert unknown.status_code == 422
    assert "unknown workflow" in unknown.text
    no_csrf = await client.post(
        "/schedules", data={k: v for k, v in form.items() if k != "csrf_token"}
    )
    assert no_csrf.status_code in (400, 403)
    assert await deck.schedules.list() == []

    added = await client.post("/schedules", data={**form, "inputs": '{"topic": "tea"}'})
    assert added.status_code == 303, added.text
    again = await client.post("/schedules", data=form)
    assert again.status_code == 409
    listed = (await client.get("/schedules?format=json")).json()["schedules"]
    assert [(s["name"], s["next_due_at"]) for s in listed] == [
        ("hourly", "2026-01-01T01:00:00+00:00")
    ]
    shown = await client.get("/schedules")
    assert "2026-01-01 01:00" in shown.text

    worker = deck.worker(concurrency=1)
    await worker.start(loops=False)
    clock.advance(timedelta(hours=1))
    [run_id] = await worker.scheduler.fire()
    shown = await client.get("/schedules")
    assert f'href="/runs/{run_id}"' in shown.text
    assert "2026-01-01 02:00" in shown.text

    schedule_id = listed[0]["id"]
    off = await client.post(f"/schedules/{schedule_id}/disable", data={"csrf_token": token})
    assert off.status_code == 303
    assert "disabled" in (await client.get("/schedules")).text
    assert not (await deck.schedules.get("hourly")).enabled
    on = await client.post(f"/schedules/{schedule_id}/enable", data={"csrf_token": token})
    assert on.status_code == 303
    assert (await deck.schedules.get("hourly")).enabled
    odd = await client.post(f"/schedules/{schedule_id}/explode", data={"csrf_token": token})
    assert odd.status_code == 404
    ghost = await client.post("/schedules/ghost/remove", data={"csrf_token": token})
    assert ghost.status_code == 404
    gone = await client.post(f"/schedules/{schedule_id}/remove", data={"csrf_token": token})
    assert gone.status_code == 303
    assert await deck.schedules.list() == []
