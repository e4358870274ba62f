"""The API token: with AGENTDECK_TOKEN set, every request but /api/health needs the Bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings
from agentdeck.web.app import create_app
from agentdeck.web.auth import bind_refusal, is_loopback
from tests.conftest import fast_settings

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
async def guarded(database_url: str, registry: Registry) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose deck has a token."""
    # many wrong tokens from one client here: the throttle (tests/web/test_login.py) stays out
    settings = fast_settings(database_url, token=TOKEN, login_attempts=10_000)
    deck = Deck(settings, registry=registry, migrate=False)
    transport = httpx.ASGITransport(app=create_app(deck))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test") as c:
            yield c
    finally:
        await deck.close()


GUARDED = [
    ("GET", "/api/runs"),
    ("POST", "/api/runs"),
    ("GET", "/api/runs/run_x"),
    ("POST", "/api/runs/run_x/cancel"),
    ("GET", "/api/runs/run_x/events"),
    ("GET", "/api/artifacts/art_x"),
    ("GET", "/api/agents"),
    ("DELETE", "/api/agents/producer"),
    ("GET", "/api/workflows"),
    ("GET", "/api/workers"),
    ("GET", "/metrics"),
    ("GET", "/api/stream"),
    ("GET", "/api/runs/run_x/stream"),
]


async def test_requests_without_the_right_token_are_401(guarded: httpx.AsyncClient) -> None:
    wrong_ones = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ]
    for method, path in GUARDED:
        for headers in wrong_ones:
            response = await guarded.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            error = response.json()["error"]
            assert "Authorization: Bearer" in error["message"]
            assert TOKEN not in response.text


async def test_the_right_token_passes_and_health_stays_open(guarded: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await guarded.get("/api/runs", headers=auth)).status_code == 200
    created = await guarded.post("/api/runs", headers=auth, json={"workflow": "echo"})
    assert created.status_code == 201
    assert (await guarded.get("/metrics", headers=auth)).status_code == 200
    missing = await guarded.get("/api/runs/run_x/stream", headers=auth)
    assert missing.status_code == 404  # past the token, to the run lookup
    assert (await guarded.get("/api/health")).status_code == 200


async def test_without_a_token_the_api_is_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/runs")).status_code == 200
    assert (await client.get("/api/runs", headers={"Authorization": "Bearer x"})).status_code == 200


def test_loopback_hosts_are_told_apart_from_public_ones() -> None:
    for host in ("127.0.0.1", "127.0.1.1", "localhost", "LOCALHOST", "::1", "[::1]"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com", "10.0.0.1", ""):
        assert not is_loopback(host), host


def test_a_public_bind_is_refused_only_without_a_token() -> None:
    refusal = bind_refusal("0.0.0.0", Settings(token=None))
    assert refusal is not None
    assert "AGENTDECK_TOKEN" in refusal
    assert bind_refusal("0.0.0.0", Settings(token=TOKEN)) is None
    assert bind_refusal("127.0.0.1", Settings(token=None)) is None
    assert Settings(token="  ").token is None
