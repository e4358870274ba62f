"""/api/schedules: add, list, enable, disable and remove; bad specs and unknown workflows are
4xx that name what to fix, and nothing is written for them."""

from __future__ import annotations

from datetime import datetime

import httpx

from agentdeck.deck import Deck
from tests.web.test_api_runs import error_of


async def test_schedule_life_cycle_over_the_api(client: httpx.AsyncClient, deck: Deck) -> None:
    body = {"name": "nightly", "workflow": "echo", "spec": "Daily 3:05", "inputs": {"topic": "x"}}
    added = await client.post("/api/schedules", json=body)
    assert added.status_code == 201, added.text
    schedule = added.json()
    assert schedule["spec"] == "daily 03:05"
    assert schedule["enabled"] is True
    assert schedule["inputs"]["topic"] == "x"
    due = datetime.fromisoformat(schedule["next_due_at"])
    assert (due.hour, due.minute) == (3, 5)
    assert due.utcoffset() is not None
    assert not due.utcoffset()
    assert due > deck.clock.now()

    listed = (await client.get("/api/schedules")).json()
    assert [s["name"] for s in listed] == ["nightly"]
    assert (await client.get(f"/api/schedules/{schedule['id']}")).json()["name"] == "nightly"

    off = await client.patch("/api/schedules/nightly", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert off.json()["enabled"] is False
    on = await client.patch("/api/schedules/nightly", json={"enabled": True})
    assert on.json()["enabled"] is True

    again = await client.post("/api/schedules", json=body)
    assert "nightly" in error_of(again, 409)["message"]

    assert (await client.delete("/api/schedules/nightly")).status_code == 204
    error_of(await client.get("/api/schedules/nightly"), 404)
    error_of(await client.delete("/api/schedules/nightly"), 404)
    error_of(await client.patch("/api/schedules/nightly", json={"enabled": True}), 404)


async def test_bad_schedules_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    good = {"name": "n", "workflow": "echo", "spec": "every 5 minutes"}
    for change, needle in [
        ({"spec": "at 3 in the morning"}, "daily HH:MM"),
        ({"spec": "daily 25:00"}, "daily HH:MM"),
        ({"spec": "every 0 minutes"}, "out of range"),
        ({"workflow": "nope"}, "unknown workflow"),
        ({"inputs": {"topic": 5}}, "topic"),
        ({"inputs": {"unknown": 1}}, "unknown"),
        ({"name": "a b"}, "name"),
        ({"colour": "red"}, "colour"),
    ]:
        response = await client.post("/api/schedules", json={**good, **change})
        error = error_of(response, 422)
        assert needle in str(error), (change, error)
    error_of(await client.patch("/api/schedules/n", json={"enabled": "maybe"}), 422)
    assert (await client.get("/api/schedules")).json() == []
