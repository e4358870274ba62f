"""The dashboard over plain HTTP: pages, JSON twins, forms with CSRF, sign-in, safe rendering."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from agentdeck import workflows as built_in
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker
from agentdeck.web.app import create_app
from agentdeck.web.safe_html import clean_html, markdown_html
from tests.conftest import fast_settings
from tests.web import page_workflows, workflows

TOKEN = "dashboard-token-for-tests"
PAGES = ["/", "/runs", "/runs/new", "/agents", "/agents/new", "/agents/producer", "/workers"]
TWIN_KEYS = {
    "/": {"runs_by_status", "in_flight", "waiting_gates", "cost_today", "simulator"},
    "/runs": {"filters", "items", "next_cursor", "workflows", "agents"},
    "/runs/new": {"workflows", "selected", "agents"},
    "/agents": {"agents", "agents_file"},
    "/agents/new": {"agent", "roles", "skills", "tools"},
    "/agents/producer": {"agent", "roles", "skills", "tools"},
    "/workers": {"workers", "lost_after_s"},
}


@pytest.fixture
def registry(held: workflows.Held) -> Registry:
    registry = Registry()
    built_in.register(registry)
    workflows.register(registry, held)
    page_workflows.register(registry)
    return registry


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


async def test_every_page_renders_and_has_a_json_twin(client: httpx.AsyncClient) -> None:
    for path in PAGES:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert 'rel="alternate" type="application/json"' in page.text
        twin = await client.get(path, params={"format": "json"})
        assert twin.status_code == 200, (path, twin.text)
        assert TWIN_KEYS[path] <= set(twin.json()), path


async def test_run_page_twin_holds_the_api_run_events_and_artifacts(
    client: httpx.AsyncClient, deck: Deck, worker: Worker
) -> None:
    run = await deck.submit("echo", {"topic": "twins"})
    await worker.drain()
    page = await client.get(f"/runs/{run.id}")
    assert page.status_code == 200
    assert "attempt-1.md" in page.text
    assert "twins" in page.text
    twin = (await client.get(f"/runs/{run.id}", params={"format": "json"})).json()
    api_run = (await client.get(f"/api/runs/{run.id}")).json()
    assert twin["run"] == api_run
    events = (await client.get(f"/api/runs/{run.id}/events")).json()["items"]
    assert twin["events"] == events
    assert [a["name"] for a in twin["artifacts"]] == ["attempt-1.md", "attempt-1.eval.json"]
    assert twin["actions"] == ["retry"]
    assert twin["attempts"][0]["score"] == 0.9
    assert twin["scores"] == [{"attempt": 1, "score": 0.9, "threshold": 0.8}]


async def test_run_page_shows_the_concurrency_key_and_limit(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    keyed = await deck.submit("echo", {"topic": "k"}, concurrency_key="repo:acme/site")
    page = await client.get(f"/runs/{keyed.id}")
    assert "Concurrency key" in page.text
    assert "repo:acme/site" in page.text
    assert "(limit 1)" in page.text
    plain = await deck.submit("echo", {"topic": "k"})
    assert "Concurrency key" not in (await client.get(f"/runs/{plain.id}")).text


async def test_unknown_run_is_a_404_page_and_a_json_404_twin(client: httpx.AsyncClient) -> None:
    page = await client.get("/runs/run_nope")
    assert page.status_code == 404
    assert "no run with id" in page.text
    assert "<html" in page.text
    twin = await client.get("/runs/run_nope", params={"format": "json"})
    assert twin.status_code == 404
    assert twin.json()["error"]["message"] == "no run with id 'run_nope'"


async def test_form_post_needs_the_session_csrf_token(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    run = await deck.submit("gated", {})
    missing = await client.post(f"/runs/{run.id}/cancel", data={})
    assert missing.status_code == 403
    assert "reload the page" in missing.text
    wrong = await client.post(f"/runs/{run.id}/cancel", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    assert (await deck.get(run.id)).status == "queued"
    token = await form_token(client, f"/runs/{run.id}")
    done = await client.post(f"/runs/{run.id}/cancel", data={"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == f"/runs/{run.id}"
    assert (await deck.get(run.id)).status == "cancelled"


async def test_form_post_from_another_site_is_refused(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    run = await deck.submit("gated", {})
    token = await form_token(client, f"/runs/{run.id}")
    response = await client.post(
        f"/runs/{run.id}/cancel",
        data={"csrf_token": token},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert (await deck.get(run.id)).status == "queued"


async def test_retry_form_lands_on_the_new_run(
    client: httpx.AsyncClient, deck: Deck, worker: Worker
) -> None:
    run = await deck.submit("broken", {})
    await worker.drain()
    assert (await deck.get(run.id)).status == "failed"
    token = await form_token(client, f"/runs/{run.id}")
    response = await client.post(f"/runs/{run.id}/retry", data={"csrf_token": token})
    assert response.status_code == 303
    new_id = response.headers["location"].removeprefix("/runs/")
    assert new_id != run.id
    assert (await deck.get(new_id)).retry_of == run.id


async def test_gate_form_needs_a_comment_to_request_changes(
    client: httpx.AsyncClient, deck: Deck, worker: Worker
) -> None:
    run = await deck.submit("approval", {})
    await worker.drain()
    page = await client.get(f"/runs/{run.id}")
    assert "Waiting for your decision" in page.text
    token = csrf_of(page.text)
    form = {"csrf_token": token, "gate": "publish", "decision": "changes", "comment": " "}
    refused = await client.post(f"/runs/{run.id}/gate", data=form)
    assert refused.status_code == 422
    assert "a comment is required" in refused.text
    form.update(decision="approve", comment="ship it")
    approved = await client.post(f"/runs/{run.id}/gate", data=form)
    assert approved.status_code == 303
    await worker.drain()
    done = await deck.get(run.id)
    assert done.status == "succeeded"
    assert done.result["decision"] == "approve"
    assert done.result["comment"] == "ship it"


async def test_start_form_shows_the_api_error_next_to_its_field(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    token = await form_token(client, "/runs/new?workflow=echo")
    form = {"csrf_token": token, "workflow": "echo", "inputs.max_attempts": "99"}
    response = await client.post("/runs/new", data=form)
    assert response.status_code == 422
    assert re.search(r'id="f-max_attempts"[^>]*aria-invalid="true"', response.text)
    assert 'id="e-max_attempts"' in response.text
    assert "inputs.max_attempts" in response.text
    assert "less than or equal to 10" in response.text
    bad_json = {"csrf_token": token, "workflow": "loop", "inputs.task": "{not json"}
    response = await client.post("/runs/new", data=bad_json)
    assert response.status_code == 422
    assert "inputs.task: is not valid JSON" in response.text
    assert (await deck.list()).items == []


async def test_start_form_queues_the_run_and_redirects_to_it(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    token = await form_token(client, "/runs/new?workflow=echo")
    form = {
        "csrf_token": token,
        "workflow": "echo",
        "inputs.topic": "from the form",
        "inputs.max_attempts": "2",
        "inputs.pass_threshold": "",
        "inputs.agents": "writer\nediter\n",
        "priority": "5",
    }
    response = await client.post("/runs/new", data=form)
    assert response.status_code == 303
    run = await deck.get(response.headers["location"].removeprefix("/runs/"))
    assert run.inputs == {
        "topic": "from the form",
        "max_attempts": 2,
        "pass_threshold": 0.8,
        "agents": ["writer", "editer"],
    }
    assert run.priority == 5


async def test_agent_forms_create_edit_and_show_errors_inline(
    client: httpx.AsyncClient, deck: Deck
) -> None:
    token = await form_token(client, "/agents/new")
    form: dict[str, Any] = {
        "csrf_token": token,
        "name": "writer-2",
        "role": "producer",
        "models": "nope:model-x",
        "max_output_tokens": "1000",
        "skills": ["api-design"],
    }
    refused = await client.post("/agents/new", data=form)
    assert refused.status_code == 422
    assert re.search(r'id="f-models"[^>]*aria-invalid="true"', refused.text)
    assert 'id="e-models"' in refused.text
    assert await deck.agents.find("writer-2") is None
    created = await client.post("/agents/new", data={**form, "models": "simulator"})
    assert created.status_code == 303
    assert created.headers["location"] == "/agents/writer-2?saved=1"
    agent = await deck.agents.get("writer-2")
    assert agent.spec.skills == ["api-design"]
    assert agent.spec.max_output_tokens == 1000
    edit = {**form, "models": "simulator", "description": "edited", "budget_usd": "0.25"}
    edited = await client.post("/agents/writer-2", data=edit)
    assert edited.status_code == 303
    assert (await deck.agents.get("writer-2")).spec.description == "edited"
    bad_budget = await client.post("/agents/writer-2", data={**edit, "budget_usd": "-1"})
    assert bad_budget.status_code == 422
    assert 'id="e-budget_usd"' in bad_budget.text
    listing = await client.get("/agents")
    assert "writer-2" in listing.text
    assert "agents.yaml" in listing.text


async def test_file_agents_are_read_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/agents/producer")
    assert "<fieldset disabled>" in page.text
    token = csrf_of(page.text)
    response = await client.post("/agents/producer", data={"csrf_token": token, "role": "x"})
    assert response.status_code == 409
    assert "read-only" in response.text


async def test_runs_page_filters_and_row_fragment(
    client: httpx.AsyncClient, deck: Deck, worker: Worker
) -> None:
    kept = await deck.submit("broken", {"why": "needle"})
    other = await deck.submit("echo", {})
    await worker.drain()
    failed = await client.get("/runs", params={"status": "failed"})
    assert kept.id in failed.text
    assert other.id not in failed.text
    rows = await client.get("/runs", params={"workflow": "echo", "fragment": "rows"})
    assert "<html" not in rows.text
    assert other.id in rows.text
    assert kept.id not in rows.text
    twin = (await client.get("/runs", params={"text": "needle", "format": "json"})).json()
    assert [r["id"] for r in twin["items"]] == [kept.id]
    by_score = (await client.get("/runs", params={"sort": "score", "format": "json"})).json()
    assert [r["id"] for r in by_score["items"]] == [other.id, kept.id]
    empty = await client.get("/runs", params={"workflow": "held"})
    assert "No run matches these filters" in empty.text


class Tags(HTMLParser):
    """Every start tag of a document with its attributes: what a browser would act on."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


async def test_hostile_artifacts_and_events_render_inert(
    client: httpx.AsyncClient, deck: Deck, worker: Worker
) -> None:
    run = await deck.submit("xss", {})
    await worker.drain()
    html = (await client.get(f"/runs/{run.id}")).text
    main = html[html.index("<main") : html.index("</main>")]
    tags = Tags(main).tags
    assert not {t for t, _ in tags} & {"script", "iframe", "style", "object", "embed"}
    assert [a.get("class") for t, a in tags if t == "svg"] == ["chart"]  # the score chart only
    for tag, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            url = attrs.get(name, "").strip().lower()
            assert not url.startswith(("javascript:", "data:text", "vbscript:")), (tag, attrs)
            if name == "src":
                assert not url.startswith(("http:", "https:", "//")), (tag, attrs)
    assert "image not loaded: remote image (http://example.invalid/remote.png)" in main
    assert "&lt;script&gt;" in main  # shown as text


def test_markdown_and_html_cleaner_keep_safe_content_only() -> None:
    html = markdown_html(page_workflows.MARKDOWN_PAYLOAD + "\n![ok](data:image/png;base64,AAAA)")
    assert "<h1>Report &lt;script&gt;" in html
    assert '<img src="data:image/png;base64,AAAA" alt="ok">' in html
    assert '<a href="http://example.invalid/page" rel="noopener noreferrer nofollow">' in html
    hrefs = [a.get("href", "") for t, a in Tags(html).tags if t == "a"]
    assert hrefs == ["http://example.invalid/page"]  # the javascript: and data: links are text
    # the cleaner behind the markdown renderer, on raw HTML
    cleaned = Tags(clean_html(page_workflows.HTML_PAYLOAD + page_workflows.MARKDOWN_PAYLOAD)).tags
    assert {t for t, _ in cleaned} <= {"h1", "img", "a", "p"}
    assert all(set(a) <= {"alt", "title", "href", "rel"} for _, a in cleaned), cleaned


@pytest.fixture
async def guarded(database_url: str, registry: Registry) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a dashboard whose server has a token."""
    deck = Deck(fast_settings(database_url, token=TOKEN), registry=registry, migrate=False)
    transport = httpx.ASGITransport(app=create_app(deck))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test") as c:
            yield c
    finally:
        await deck.close()


async def test_pages_need_sign_in_when_a_token_is_set(guarded: httpx.AsyncClient) -> None:
    page = await guarded.get("/runs?status=failed")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fruns%3Fstatus%3Dfailed"
    assert (await guarded.get("/runs", params={"format": "json"})).status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert (await guarded.get("/runs?format=json", headers=bearer)).status_code == 200
    token = await form_token(guarded, "/login")
    refused = await guarded.post("/login", data={"token": TOKEN, "next": "/runs"})
    assert refused.status_code == 403  # no CSRF token
    wrong = await guarded.post("/login", data={"csrf_token": token, "token": "nope"})
    assert wrong.status_code == 401
    signed = await guarded.post(
        "/login", data={"csrf_token": token, "token": TOKEN, "next": "//evil.example/x"}
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"
    assert (await guarded.get("/runs")).status_code == 200
    # the session cookie lets the browser read the API (live streams), but never write it
    assert (await guarded.get("/api/runs")).status_code == 200
    assert (await guarded.post("/api/runs", json={"workflow": "echo"})).status_code == 401
    out_token = await form_token(guarded, "/runs")
    assert out_token != token  # signing in gave the session a new CSRF token
    signed_out = await guarded.post("/logout", data={"csrf_token": out_token})
    assert signed_out.headers["location"] == "/login"
    assert (await guarded.get("/runs")).status_code == 303


async def test_forged_session_cookie_is_not_signed_in(guarded: httpx.AsyncClient) -> None:
    import base64
    import json

    payload = {"sid": "x", "csrf": "y", "signed_in": True, "issued_at": 2_000_000_000}
    text = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    guarded.cookies.set("agentdeck_session", f"{text}.forged")
    assert (await guarded.get("/")).status_code == 303
    assert (await guarded.get("/api/runs")).status_code == 401
