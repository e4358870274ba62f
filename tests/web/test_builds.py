"""The build API and pages: register, start, plan table, coloured diffs, gates; 4xx on bad input."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
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
from tests.workflows.test_build import FAST_TESTS, REQUEST


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


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form with a CSRF token"
    return found.group(1)


async def test_build_api_from_registration_to_commit(
    deck: Deck, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "cockpit")
    created = await client.post("/api/repositories", json={"path": str(repo)})
    assert created.status_code == 201, created.text
    again = await client.post("/api/repositories", json={"path": str(repo)})
    assert again.status_code == 409
    bad = await client.post("/api/repositories", json={"path": "relative"})
    assert bad.status_code == 422
    assert "absolute path" in bad.json()["error"]["message"]
    both = await client.post("/api/repositories", json={"path": str(repo), "source": "x"})
    assert both.status_code == 422
    missing = await client.post("/api/builds", json={"repository": "nowhere", "request": "x"})
    assert missing.status_code == 404
    view = (await client.get("/api/repositories/cockpit")).json()
    assert view["branches"] == ["main"]

    body = {"repository": "cockpit", "request": REQUEST, "max_phases": 1}
    started = await client.post("/api/builds", json={**body, "test_command": FAST_TESTS})
    assert started.status_code == 201, started.text
    build_id = started.json()["id"]
    await drain(deck)
    build = (await client.get(f"/api/builds/{build_id}")).json()
    assert build["gate"] == "plan"
    assert build["plan"]["totals"]["phases"] == 4
    wrong = await client.post(
        f"/api/builds/{build_id}/gate", json={"gate": "diff P1", "decision": "approve"}
    )
    assert wrong.status_code == 422
    no_comment = await client.post(
        f"/api/builds/{build_id}/gate", json={"gate": "plan", "decision": "changes"}
    )
    assert no_comment.status_code == 422
    assert "comment is required" in no_comment.json()["error"]["message"]
    decided = await client.post(
        f"/api/builds/{build_id}/gate", json={"gate": "plan", "decision": "approve"}
    )
    assert decided.status_code == 200
    await drain(deck)

    page = await client.get(f"/builds/{build_id}")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="plan-table"' in html
    assert '<span class="ln add">+class BackendDeveloper(BaseAgent):</span>' in html
    assert "Waiting for your decision at “diff P1”" in html
    posted = await client.post(
        f"/builds/{build_id}/gate",
        data={"csrf_token": csrf_of(html), "gate": "diff P1", "decision": "approve"},
    )
    assert posted.status_code == 303
    await drain(deck)
    done = (await client.get(f"/builds/{build_id}?format=json")).json()["build"]
    assert done["status"] == "succeeded"
    assert done["phases"][0]["status"] == "committed"
    live = await client.get(f"/builds/{build_id}?fragment=live")
    assert "commit-P1" in live.text


async def test_build_pages_forms_and_errors(
    deck: Deck, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "cockpit")
    page = await client.get("/repositories")
    token = csrf_of(page.text)
    bad = await client.post("/repositories", data={"csrf_token": token, "path": str(tmp_path)})
    assert bad.status_code == 422
    assert "not the top folder of a git repository" in bad.text
    added = await client.post("/repositories", data={"csrf_token": token, "path": str(repo)})
    assert added.status_code == 303
    listed = (await client.get("/repositories?format=json")).json()["repositories"]
    assert [(r["name"], r["builds_cost_usd"]) for r in listed] == [("cockpit", "0")]
    shown = await client.get("/repositories/cockpit")
    assert "cockpit/agents/base_agent.py" in shown.text
    assert "Sample cockpit with BaseAgent and CodeArchitect" in shown.text

    builds = await client.get("/builds")
    token = csrf_of(builds.text)
    assert 'data-testid="modes"' in builds.text
    modes = (await client.get("/builds?format=json")).json()["modes"]
    assert modes["balanced"]["backend"]["kinds"]["auth-security"][0] == (
        "anthropic:claude-sonnet-4-5"
    )
    form = {"csrf_token": token, "repository": "cockpit", "request": "Add agents: Scout"}
    wrong = await client.post("/builds", data={**form, "priority": "high"})
    assert wrong.status_code == 422
    assert "priority must be a whole number" in wrong.text
    model = await client.post("/builds", data={**form, "orchestrator_model": "x:y"})
    assert model.status_code == 422
    assert "unknown provider" in model.text
    late = await client.post("/builds", data={**form, "not_before": "2999-01-01T02:00"})
    assert late.status_code == 303
    build_id = late.headers["location"].rsplit("/", 1)[-1]
    queued = (await client.get("/builds?format=json")).json()["builds"]
    assert queued[0]["id"] == build_id
    assert queued[0]["due_at"].startswith("2999-01-01T02:00")
    builds = await client.get("/builds")
    assert f'action="/builds/{build_id}/priority"' in builds.text
    moved = await client.post(
        f"/builds/{build_id}/priority", data={"csrf_token": token, "priority": "7"}
    )
    assert moved.status_code == 303
    api = await client.post(f"/api/builds/{build_id}/priority", json={"priority": 9})
    assert api.json()["priority"] == 9
    assert (await client.post(f"/api/builds/{build_id}/priority", json={})).status_code == 422
    assert (await client.get("/builds/run_nope")).status_code == 404
