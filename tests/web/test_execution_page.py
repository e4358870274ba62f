"""The execution page of plan runs and the external agents page: HTML, JSON twins, forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentdeck.deck import Deck
from tests.web.plan_fixtures import asgi_client, open_plan_deck

GATE = "human review"


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


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form with a CSRF token"
    return found.group(1)


PLAN = [
    {"id": "A", "title": "Research"},
    {
        "id": "B",
        "title": "Design",
        "prerequisites": ["A"],
        "subtasks": [
            {"id": "B1", "title": "Sketch"},
            {"id": "B2", "title": "Refine", "prerequisites": ["B1"]},
        ],
    },
    {"id": "C", "title": "Risky <launch>", "confidence": 0.2, "prerequisites": ["B"]},
]


async def test_the_execution_page_shows_progress_graph_tree_and_blockers(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    run = await deck.submit("plan", {"plan": PLAN, "dispatch": "internal"})
    run = await deck.wait(run.id, 30)
    assert run.waiting_on == GATE  # C waits for review
    page = await http.get(f"/runs/{run.id}/execution")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<progress id="plan-progress" max="4" value="3"' in html
    assert "75%" in html
    start = html.index('<svg class="task-graph"')
    svg = html[start : html.index("</svg>", start)]
    assert svg.count("<rect") == 4  # the tasks without subtasks
    assert svg.count("<path") == 5  # B1 <- A, B2 <- A and B1, C <- B1 and B2 (B's subtasks)
    for key, state in (("A", "completed"), ("B1", "completed"), ("B2", "completed")):
        assert f'<a href="#task-{key}" class="node t-{state}">' in svg
    assert '<a href="#task-C" class="node t-blocked">' in svg
    assert "Risky &lt;launch&gt;" in html
    assert "<launch>" not in html
    assert 'id="task-B"' in html  # the group is in the tree...
    assert 'class="depth-1"' in html  # ...with its subtasks under it
    assert "confidence 0.20 is below the review threshold" in html
    assert f'action="/runs/{run.id}/execution/tasks/C/resolve"' in html
    twin = (await http.get(f"/runs/{run.id}/execution?format=json")).json()
    assert set(twin) == {"run", "tasks", "events", "plan"}
    assert twin["tasks"]["counts"] == {"completed": 3, "blocked": 1}
    groups = {t["key"]: t["status"] for t in twin["tasks"]["items"] if t["is_group"]}
    assert groups == {"B": "completed"}
    assert twin["events"][0]["kind"].startswith(("task.", "gate.", "plan."))
    for part in ("live", "blockers"):
        fragment = await http.get(f"/runs/{run.id}/execution?fragment={part}")
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
    # a person lets C run from the blockers panel
    resolved = await http.post(
        f"/runs/{run.id}/execution/tasks/C/resolve",
        data={"csrf_token": csrf_of(html), "action": "retry", "note": "go"},
    )
    assert resolved.status_code == 303
    assert resolved.headers["location"] == f"/runs/{run.id}/execution"
    run = await deck.wait(run.id, 30)
    assert run.status == "succeeded", run.error
    done = (await http.get(f"/runs/{run.id}/execution")).text
    assert "100%" in done
    assert "Nothing is blocked." in done


async def test_the_run_page_links_to_the_execution_page_of_plan_runs_only(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    plan = await deck.submit("plan", {"plan": [{"id": "A", "title": "One"}]})
    loop = await deck.submit("loop", {"task": {"topic": "x"}})
    assert f'href="/runs/{plan.id}/execution"' in (await http.get(f"/runs/{plan.id}")).text
    assert "/execution" not in (await http.get(f"/runs/{loop.id}")).text
    missing = await http.get(f"/runs/{loop.id}/execution")
    assert missing.status_code == 404
    assert "only plan runs have tasks" in missing.text


async def test_external_agents_are_registered_listed_and_revoked_from_the_dashboard(
    deck: Deck, http: httpx.AsyncClient
) -> None:
    page = await http.get("/agents/external")
    assert page.status_code == 200
    assert "No external agent is registered" in page.text
    created = await http.post(
        "/agents/external",
        data={"csrf_token": csrf_of(page.text), "name": "larry", "capabilities": "email, fax"},
    )
    assert created.status_code == 201
    token = re.search(r"(adx_[A-Za-z0-9_-]+)", created.text)
    assert token is not None
    listing = await http.get("/agents/external?format=json")
    (agent,) = listing.json()["agents"]
    assert agent["capabilities"] == ["email", "fax"]
    assert listing.json()["created"] is None  # the token is not shown again
    assert token.group(1) not in (await http.get("/agents/external")).text
    section = await http.get("/agents/external?fragment=section")
    assert "larry" in section.text
    assert "Tasks in hand" in section.text
    assert 'data-refresh="/agents/external?fragment=section"' in (await http.get("/agents")).text
    revoked = await http.post(
        f"/agents/external/{agent['id']}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert revoked.status_code == 303
    assert (await http.get("/agents/external?format=json")).json()["agents"][0][
        "status"
    ] == "revoked"
