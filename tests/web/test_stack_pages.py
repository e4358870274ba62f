"""The stacks pages over plain HTTP: the list with its slider, bulk buttons and create form,
a stack's page, their JSON twins, CSRF, errors shown on the form, escaping."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from agentdeck import workflows as built_in
from agentdeck.engine.registry import Registry
from tests.web.test_pages import csrf_of, form_token


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    built_in.register(registry)
    return registry


async def create_via_api(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/stacks", json={"name": "maps", **body})
    assert response.status_code == 201, response.text
    stack: dict[str, Any] = response.json()
    return stack


def form(token: str, **values: str) -> dict[str, str]:
    return {"csrf_token": token, **values}


async def test_stacks_page_has_the_slider_bulk_buttons_form_and_a_json_twin(
    client: httpx.AsyncClient,
) -> None:
    await create_via_api(client, idea="a shop for old maps")
    page = await client.get("/stacks")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert '<a href="/stacks" aria-current="page">Stacks</a>' in html
    slider = re.search(r'<input id="f-scale" type="range"[^>]*>', html)
    assert slider, "no scale slider"
    assert 'min="0"' in slider.group(0)
    for action in ("start-all", "pause-all", "stop-all"):
        assert f'action="/stacks/{action}"' in html
    for role in ("planner", "builder", "communicator", "reviewer"):
        assert f'<select id="f-{role}" name="{role}"' in html
    # each role is filled by default by agents.yaml's stack-<role>
    assert '<option value="stack-builder" selected>stack-builder</option>' in html
    assert "a shop for old maps" in html
    twin = (await client.get("/stacks", params={"format": "json"})).json()
    assert {"stacks", "counts", "scale", "roles", "agents"} <= set(twin)
    assert twin["stacks"][0]["name"] == "maps"
    assert twin["scale"]["max"] >= twin["scale"]["limit"]
    narrowed = await client.get("/stacks", params={"state": "running"})
    assert "No stacks running." in narrowed.text
    assert "fragment=rows&amp;state=running" in narrowed.text  # the live refresh keeps it
    assert (await client.get("/stacks", params={"state": "dancing"})).status_code == 422
    rows = await client.get("/stacks", params={"fragment": "rows"})
    assert 'data-key="' in rows.text
    assert "<html" not in rows.text


async def test_create_form_makes_a_stack_and_lands_on_its_page(
    client: httpx.AsyncClient,
) -> None:
    token = await form_token(client, "/stacks")
    sent = form(
        token,
        name="atlas",
        idea="",
        planner="planner",
        builder="builder",
        communicator="communicator",
        reviewer="reviewer",
        budget_usd="1.50",
        max_concurrent="2",
    )
    response = await client.post("/stacks/new", data=sent)
    assert response.status_code == 303, response.text
    where = response.headers["location"]
    assert re.fullmatch(r"/stacks/[\w-]+", where)
    page = await client.get(where)
    assert page.status_code == 200
    assert "atlas" in page.text
    assert "the planner invents one" in page.text
    stack = (await client.get(f"/api{where}")).json()
    assert (stack["state"], stack["budget_usd"], stack["max_concurrent"]) == ("idle", "1.5", 2)


async def test_create_form_shows_the_error_next_to_the_field(client: httpx.AsyncClient) -> None:
    token = await form_token(client, "/stacks")
    bad_budget = await client.post("/stacks/new", data=form(token, name="x", budget_usd="-3"))
    assert bad_budget.status_code == 422
    assert 'id="e-budget_usd"' in bad_budget.text
    assert 'value="x"' in bad_budget.text  # what was typed stays
    await create_via_api(client)
    taken = await client.post("/stacks/new", data=form(token, name="maps"))
    assert taken.status_code == 409
    assert 'id="e-name"' in taken.text
    ghost = await client.post("/stacks/new", data=form(token, name="y", planner="ghost"))
    assert ghost.status_code == 422
    assert 'id="e-planner"' in ghost.text
    assert len((await client.get("/api/stacks")).json()["items"]) == 1


async def test_forms_need_the_session_csrf_token(client: httpx.AsyncClient) -> None:
    stack = await create_via_api(client)
    for path in ("/stacks/new", "/stacks/pause-all", f"/stacks/{stack['id']}/start"):
        refused = await client.post(path, data={"csrf_token": "forged", "name": "z"})
        assert refused.status_code == 403, path
    assert (await client.get(f"/api/stacks/{stack['id']}")).json()["state"] == "idle"


async def test_controls_slider_and_bulk_buttons_steer_stacks(client: httpx.AsyncClient) -> None:
    stack = await create_via_api(client)
    token = await form_token(client, "/stacks")
    started = await client.post(f"/stacks/{stack['id']}/start", data=form(token, next="/stacks"))
    assert (started.status_code, started.headers["location"]) == (303, "/stacks")
    refused = await client.post(f"/stacks/{stack['id']}/resume", data=form(token))
    assert refused.status_code == 409
    assert "running" in refused.text
    scaled = await client.post("/stacks/scale", data=form(token, limit="0"))
    assert scaled.status_code == 303
    assert (await client.get("/api/stacks/scale")).json()["limit"] == 0
    assert (await client.post("/stacks/scale", data=form(token, limit="-1"))).status_code == 422
    paused = await client.post("/stacks/pause-all", data=form(token))
    assert paused.status_code == 303
    notice = await client.get(paused.headers["location"])
    assert "Paused every running stack. (1 changed)" in notice.text
    assert (await client.get(f"/api/stacks/{stack['id']}")).json()["state"] == "paused"


async def test_stack_page_shows_state_controls_and_takes_broadcasts(
    client: httpx.AsyncClient,
) -> None:
    stack = await create_via_api(client, idea="<script>alert(1)</script> maps")
    path = f"/stacks/{stack['id']}"
    page = await client.get(path)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; maps" in page.text
    assert 'data-action="start"' in page.text
    live = await client.get(path, params={"fragment": "live"})
    assert 'data-action="start"' in live.text
    assert "<html" not in live.text
    twin = (await client.get(path, params={"format": "json"})).json()
    keys = {"stack", "agents", "todos", "messages", "broadcasts", "artifacts", "memory", "cycles"}
    assert keys <= set(twin)
    token = csrf_of(page.text)
    sent = await client.post(f"{path}/broadcast", data=form(token, body="hello, teams"))
    assert sent.status_code == 303
    assert "hello, teams" in (await client.get(path)).text
    blank = await client.post(f"{path}/broadcast", data=form(token, body="  "))
    assert blank.status_code == 422
    scaled = await client.post(f"{path}/scale", data=form(token, limit="3"))
    assert scaled.status_code == 303
    assert (await client.get(f"/api{path}")).json()["scale"] == 3
    assert (await client.post(f"{path}/scale", data=form(token, limit="many"))).status_code == 422
    missing = await client.get("/stacks/stk_nothing")
    assert missing.status_code == 404


async def test_overview_counts_stacks_by_state(client: httpx.AsyncClient) -> None:
    await create_via_api(client)
    await create_via_api(client, name="other", auto_start=True)
    twin = (await client.get("/", params={"format": "json"})).json()
    assert twin["stacks_by_state"]["idle"] == 1
    assert twin["stacks_by_state"]["running"] == 1
    page = await client.get("/")
    assert 'href="/stacks?state=running"' in page.text
