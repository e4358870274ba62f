"""Signing in: wrong tokens are throttled per client, and a short token never serves."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings

TOKEN = "login-token-0123456789-0123456789-abcdef"
ROOT = Path(__file__).resolve().parents[2]


class TurnedClock:
    """The throttle's clock, turned by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def app(database_url: str, registry: Registry) -> AsyncIterator[FastAPI]:
    settings = fast_settings(database_url, token=TOKEN, login_attempts=3)
    deck = Deck(settings, registry=registry, migrate=False)
    app = create_app(deck)
    app.state.clock = app.state.login_throttle.now = TurnedClock()
    try:
        yield app
    finally:
        await deck.close()


def client_of(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_wrong_api_tokens_are_throttled_per_client(app: FastAPI) -> None:
    async with client_of(app, "10.0.0.1") as guesser, client_of(app, "10.0.0.2") as other:
        assert (await guesser.get("/api/runs")).status_code == 401  # no token: not a guess
        for _ in range(2):
            assert (await guesser.get("/api/runs", headers=bearer("a"))).status_code == 401
        # a body with a wrong token counts too, refused before it is read
        posted = await guesser.post("/api/runs", json={"workflow": "echo"}, headers=bearer("b"))
        assert posted.status_code == 401
        refused = await guesser.get("/api/runs", headers=bearer(TOKEN))
        assert refused.status_code == 429  # even the right token, while it waits
        assert refused.headers["retry-after"] == "60"
        assert "too many wrong tokens" in refused.json()["error"]["message"]
        posted = await guesser.post("/api/runs", json={"workflow": "echo"}, headers=bearer(TOKEN))
        assert posted.status_code == 429
        # another client is not held back
        assert (await other.get("/api/runs", headers=bearer(TOKEN))).status_code == 200
        app.state.clock.now += 61
        assert (await guesser.get("/api/runs", headers=bearer(TOKEN))).status_code == 200


async def csrf_of(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def test_wrong_tokens_on_the_sign_in_form_are_throttled(app: FastAPI) -> None:
    async with client_of(app, "10.0.0.3") as browser:
        csrf = await csrf_of(browser)
        for _ in range(3):
            wrong = await browser.post("/login", data={"csrf_token": csrf, "token": "guess"})
            assert wrong.status_code == 401
        right = await browser.post("/login", data={"csrf_token": csrf, "token": TOKEN})
        assert right.status_code == 429
        assert "Too many wrong tokens from this address" in right.text
        app.state.clock.now += 61
        right = await browser.post("/login", data={"csrf_token": csrf, "token": TOKEN})
        assert right.status_code == 303


@pytest.mark.parametrize("command", ["serve", "up"])
def test_a_token_shorter_than_32_characters_is_refused_at_start(
    command: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentdeck.cli", command, "--port", "1"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "AGENTDECK_TOKEN": "short-1234"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "AGENTDECK_TOKEN is 10 characters; use at least 32" in output
    assert not (tmp_path / ".agentdeck").exists()  # refused before opening anything


async def test_signing_out_revokes_the_session_on_every_server(
    app: FastAPI, database_url: str, registry: Registry
) -> None:
    other_deck = Deck(app.state.deck.settings, registry=registry, migrate=False)
    other = create_app(other_deck)  # a second API process on the same database
    try:
        async with client_of(app, "10.0.0.4") as browser:
            csrf = await csrf_of(browser)
            signed = await browser.post("/login", data={"csrf_token": csrf, "token": TOKEN})
            assert signed.status_code == 303
            cookie = browser.cookies["agentdeck_session"]
            copied = {"Cookie": f"agentdeck_session={cookie}"}
            async with client_of(other, "10.0.0.4") as elsewhere:
                assert (await elsewhere.get("/runs", headers=copied)).status_code == 200
                assert (await elsewhere.get("/api/runs", headers=copied)).status_code == 200
                page = await browser.get("/runs")
                found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert found
                out = await browser.post("/logout", data={"csrf_token": found.group(1)})
                assert out.headers["location"] == "/login"
                # the cookie copied before signing out is still well signed, and refused
                browser.cookies.clear()
                for client in (browser, elsewhere):
                    page = await client.get("/runs", headers=copied)
                    assert page.status_code == 303
                    assert page.headers["location"].startswith("/login")
                    assert (await client.get("/api/runs", headers=copied)).status_code == 401
                    assert (await client.get("/login", headers=copied)).status_code == 200
    finally:
        await other_deck.close()
