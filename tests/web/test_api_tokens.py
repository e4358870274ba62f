"""Scoped API tokens: read-only and start-only tokens beside the admin's, stored hashed."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings
from tests.web.live_server import read_events, serving

ADMIN = "admin-token-for-scoped-tests"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
async def api(database_url: str, registry: Registry) -> AsyncIterator[httpx.AsyncClient]:
    settings = fast_settings(database_url, token=ADMIN, login_attempts=10_000)
    deck = Deck(settings, registry=registry, migrate=False)
    transport = httpx.ASGITransport(app=create_app(deck))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test") as c:
            yield c
    finally:
        await deck.close()


async def _create(api: httpx.AsyncClient, name: str, scopes: list[str]) -> dict[str, str]:
    answer = await api.post("/api/tokens", json={"name": name, "scopes": scopes}, headers=AS_ADMIN)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["scopes"] == scopes
    assert body["revoked_at"] is None
    return {"id": body["id"], "secret": body["secret"]}


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_read_token_reads_and_is_refused_any_write(api: httpx.AsyncClient) -> None:
    reader = _bearer((await _create(api, "dashboards", ["read"]))["secret"])
    assert (await api.get("/api/runs", headers=reader)).status_code == 200
    assert (await api.get("/api/workflows", headers=reader)).status_code == 200
    refused = await api.post("/api/runs", json={"workflow": "echo"}, headers=reader)
    assert refused.status_code == 403
    message = refused.json()["error"]["message"]
    assert "dashboards" in message
    assert "read" in message
    assert "GET only" in message
    assert (await api.delete("/api/agents/producer", headers=reader)).status_code == 403
    # tokens are the admin's alone, reads included
    assert (await api.get("/api/tokens", headers=reader)).status_code == 403
    minted = await api.post("/api/tokens", json={"name": "x", "scopes": ["read"]}, headers=reader)
    assert minted.status_code == 403
    # nor through the dashboard: its forms need a signed-in session, never a bearer
    form = await api.post("/tokens", data={"name": "x", "scopes": "read"}, headers=reader)
    assert form.status_code in (303, 401)
    assert (await api.get("/api/tokens", headers=AS_ADMIN)).json()[0]["name"] == "dashboards"
    assert len((await api.get("/api/tokens", headers=AS_ADMIN)).json()) == 1


async def test_a_start_token_starts_only_its_workflows(api: httpx.AsyncClient) -> None:
    starter = _bearer((await _create(api, "ci", ["start:echo"]))["secret"])
    started = await api.post("/api/runs", json={"workflow": "echo"}, headers=starter)
    assert started.status_code == 201, started.text
    assert started.json()["workflow"] == "echo"
    other = await api.post("/api/runs", json={"workflow": "gated"}, headers=starter)
    assert other.status_code == 403
    assert "echo only, not 'gated'" in other.json()["error"]["message"]
    assert (await api.get("/api/runs", headers=starter)).status_code == 403
    run_id = started.json()["id"]
    cancel = await api.post(f"/api/runs/{run_id}/cancel", json={}, headers=starter)
    assert cancel.status_code == 403


async def test_revoked_and_unknown_tokens_are_401(api: httpx.AsyncClient) -> None:
    created = await _create(api, "old", ["read", "start:echo"])
    reader = _bearer(created["secret"])
    assert (await api.get("/api/runs", headers=reader)).status_code == 200
    revoked = await api.delete(f"/api/tokens/{created['id']}", headers=AS_ADMIN)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await api.get("/api/runs", headers=reader)).status_code == 401
    # a body from a revoked token is refused by the edge, before it is read
    body = await api.post("/api/runs", json={"workflow": "echo"}, headers=reader)
    assert body.status_code == 401
    unknown = _bearer(created["secret"] + "x")
    assert (await api.get("/api/runs", headers=unknown)).status_code == 401
    again = await api.delete(f"/api/tokens/{created['id']}", headers=AS_ADMIN)
    assert again.status_code == 200
    missing = await api.delete("/api/tokens/tok_nothing", headers=AS_ADMIN)
    assert missing.status_code == 404


async def test_only_the_hash_is_stored_and_use_is_recorded(
    api: httpx.AsyncClient, database_url: str
) -> None:
    created = await _create(api, "audit", ["read"])
    secret = created["secret"]
    assert len(secret) >= 43  # 32 random bytes, url-safe base64, after the prefix
    listed = (await api.get("/api/tokens", headers=AS_ADMIN)).json()
    assert [t["name"] for t in listed] == ["audit"]
    assert "secret" not in listed[0]
    assert listed[0]["last_used_at"] is None
    await api.get("/api/runs", headers=_bearer(secret))
    listed = (await api.get("/api/tokens", headers=AS_ADMIN)).json()
    assert listed[0]["last_used_at"] is not None
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT secret_hash FROM api_tokens")).all()
    finally:
        engine.dispose()
    assert [r[0] for r in rows] == [hashlib.sha256(secret.encode()).hexdigest()]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["write"]}, "scopes"),
        ({"name": "x", "scopes": ["start:"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "  ", "scopes": ["read"]}, "name"),
        ({"scopes": ["read"]}, "name"),
    ],
)
async def test_bad_token_requests_are_422_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    answer = await api.post("/api/tokens", json=body, headers=AS_ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    listed = (await api.get("/api/tokens", headers=AS_ADMIN)).json()
    assert listed == []


async def test_the_tokens_form_needs_its_csrf_token(client: httpx.AsyncClient) -> None:
    """No admin token here (loopback): the dashboard's forms still carry the session's CSRF."""
    page = await client.get("/tokens")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    forged = await client.post("/tokens", data={"name": "x", "scopes": "read"})
    assert forged.status_code == 403
    made = await client.post(
        "/tokens", data={"csrf_token": found.group(1), "name": "x", "scopes": "read"}
    )
    assert made.status_code == 200
    assert 'id="token-secret"' in made.text
    listed = (await client.get("/api/tokens")).json()
    assert [t["name"] for t in listed] == ["x"]
    revoke = await client.post(f"/tokens/{listed[0]['id']}/revoke", data={})
    assert revoke.status_code == 403
    assert (await client.get("/api/tokens")).json()[0]["revoked_at"] is None


async def test_scoped_tokens_over_real_http(database_url: str, registry: Registry) -> None:
    """Through uvicorn: the edge lets a scoped token's body in, the route applies its scopes,
    and a read token may follow the live stream (EventSource-style GET)."""
    settings = fast_settings(database_url, token=ADMIN, login_attempts=10_000)
    deck = Deck(settings, registry=registry, migrate=False)
    try:
        async with serving(create_app(deck)) as base, httpx.AsyncClient(base_url=base) as http:
            reader = _bearer((await _create(http, "watch", ["read"]))["secret"])
            starter = _bearer((await _create(http, "ci", ["start:echo"]))["secret"])
            run = await http.post("/api/runs", json={"workflow": "echo"}, headers=starter)
            assert run.status_code == 201, run.text
            write = await http.post("/api/runs", json={"workflow": "echo"}, headers=reader)
            assert write.status_code == 403
            url = f"/api/runs/{run.json()['id']}/stream"
            events = await read_events(http, url, 1, headers=reader)
            assert events
    finally:
        await deck.close()
