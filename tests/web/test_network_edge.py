"""The server on a network: Host names, authentication before the body, body limits, slow clients.

Most cases speak raw HTTP/1.1 to a real uvicorn server over a socket, because what is
tested is what the server does before a whole request has arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings
from tests.web.live_server import serving

TOKEN = "edge-token-0123456789-0123456789-abcdef"


@pytest.fixture
async def guarded_app(database_url: str, registry: Registry) -> AsyncIterator[FastAPI]:
    settings = fast_settings(
        database_url,
        token=TOKEN,
        max_body_bytes=100_000,
        max_artifact_body_bytes=200_000,
        body_read_timeout=timedelta(seconds=0.5),
    )
    deck = Deck(settings, registry=registry, migrate=False)
    try:
        yield create_app(deck)
    finally:
        await deck.close()


async def exchange(base: str, request: bytes, within: float = 5) -> tuple[int, bytes]:
    """Send `request` as is, read the answer's status and whole text (the server closes)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(within):
            head = await reader.readuntil(b"\r\n\r\n")
            rest = await reader.read(65536)
    finally:
        writer.close()
    return int(head.split(b" ", 2)[1]), head + rest


def head(method: str, path: str, *lines: str, host: str = "127.0.0.1") -> bytes:
    """A request's head: the request line, Host, `lines`, and the blank line."""
    text = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    return (text + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


# --- Host -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil"]
)
async def test_a_host_name_the_server_is_not_bound_to_is_421(
    client: httpx.AsyncClient, host: str
) -> None:
    response = await client.get("/api/runs", headers={"Host": host})
    assert response.status_code == 421
    assert "AGENTDECK_ALLOWED_HOSTS" in response.json()["error"]["message"]
    page = await client.get("/", headers={"Host": host})
    assert page.status_code == 421


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "::1"]
)
async def test_loopback_host_names_are_answered(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/api/runs", headers={"Host": host})
    assert response.status_code == 200, response.text


async def test_the_bound_host_and_the_setting_add_names(deck: Deck) -> None:
    app = create_app(deck, "10.1.2.3")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://10.1.2.3:8000") as http:
        assert (await http.get("/api/runs")).status_code == 200
        assert (await http.get("/api/runs", headers={"Host": "agentdeck.test"})).status_code == 200
        assert (await http.get("/api/runs", headers={"Host": "10.1.2.4"})).status_code == 421


async def test_bound_to_every_interface_any_address_is_answered_but_not_any_name(
    deck: Deck,
) -> None:
    transport = httpx.ASGITransport(app=create_app(deck, "0.0.0.0"))
    async with httpx.AsyncClient(transport=transport, base_url="http://192.168.7.9") as http:
        assert (await http.get("/api/runs")).status_code == 200
        assert (await http.get("/api/runs", headers={"Host": "[fe80::1]"})).status_code == 200
        assert (await http.get("/api/runs", headers={"Host": "rebind.example"})).status_code == 421


# --- authentication before the body, and body limits ----------------------------------------


async def test_a_body_without_credentials_is_refused_before_it_is_sent(
    guarded_app: FastAPI,
) -> None:
    """The 401 arrives though not one byte of the announced 200 MB was sent."""
    async with serving(guarded_app) as base:
        status, text = await exchange(
            base, head("POST", "/api/runs", "Content-Length: 200000000", "Content-Type: x/y")
        )
        assert status == 401
        assert b"AGENTDECK_TOKEN" in text
        status, _ = await exchange(
            base,
            head("POST", "/api/runs", "Content-Length: 50", "Authorization: Bearer wrong"),
        )
        assert status == 401
        # a dashboard form from a browser that has not signed in goes to the sign-in page
        status, text = await exchange(
            base,
            head(
                "POST",
                "/runs/new",
                "Content-Length: 200000000",
                "Content-Type: application/x-www-form-urlencoded",
            ),
        )
        assert status == 303
        assert b"location: /login" in text.lower()
        # an external agent's report needs the agent's token before its body is read
        status, _ = await exchange(
            base, head("POST", "/api/tasks/task_x/events", "Content-Length: 200000000")
        )
        assert status == 401


async def test_a_body_over_the_limit_is_413_before_it_is_read(guarded_app: FastAPI) -> None:
    auth = f"Authorization: Bearer {TOKEN}"
    async with serving(guarded_app) as base:
        status, text = await exchange(
            base, head("POST", "/api/runs", "Content-Length: 100001", auth)
        )
        assert status == 413
        assert b"100,000 bytes" in text
        # an external agent's report may be larger (artifacts), up to its own limit
        status, text = await exchange(
            base,
            head(
                "POST", "/api/tasks/t_x/events", "Content-Length: 200001", "Authorization: Bearer x"
            ),
        )
        assert status == 413
        assert b"200,000 bytes" in text
        # chunked: counted while reading, refused once the count passes the limit
        chunk = b"%x\r\n%s\r\n" % (50_000, b"x" * 50_000)
        request = head("POST", "/api/runs", "Transfer-Encoding: chunked", auth) + chunk * 3
        status, _ = await exchange(base, request)
        assert status == 413
        # under the limit, the same request reaches the route
        async with httpx.AsyncClient(base_url=base) as http:
            response = await http.post(
                "/api/runs",
                json={"workflow": "echo", "inputs": {"topic": "x" * 90_000}},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert response.status_code == 201, response.text


async def test_a_body_that_does_not_arrive_in_time_is_408(guarded_app: FastAPI) -> None:
    auth = f"Authorization: Bearer {TOKEN}"
    async with serving(guarded_app) as base:
        request = head("POST", "/api/runs", "Content-Length: 100", auth) + b'{"work'
        status, text = await exchange(base, request)
        assert status == 408
        assert b"0.5 s" in text
