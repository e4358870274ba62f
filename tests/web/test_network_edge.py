"""The server on a network: Host names, authentication before the body, body limits, slow clients.

Most cases speak raw HTTP/1.1 to a real uvicorn server over a socket, because what is
tested is what the server does before a whole request has arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from agentdeck.web.server import server_config
from tests.conftest import fast_settings
from tests.web.live_server import read_events, serving

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


# --- slow clients and the connection cap (web/server.py) ----------------------------------


@contextlib.asynccontextmanager
async def guarded_serving(app: FastAPI) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """`app` served as `agentdeck serve` does, with the server's guards."""
    settings = app.state.deck.settings
    server = uvicorn.Server(server_config(app, "127.0.0.1", 0, settings))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def slow_app(database_url: str, registry: Registry) -> AsyncIterator[FastAPI]:
    settings = fast_settings(database_url, header_timeout=timedelta(seconds=0.5), max_connections=5)
    deck = Deck(settings, registry=registry, migrate=False)
    try:
        yield create_app(deck)
    finally:
        await deck.close()


async def answer_of(reader: asyncio.StreamReader) -> bytes:
    """All the server sends until it closes the connection."""
    async with asyncio.timeout(5):
        return await reader.read()


async def test_a_head_that_does_not_arrive_in_time_is_408_and_closed(slow_app: FastAPI) -> None:
    async with guarded_serving(slow_app) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        # part of a head, then nothing
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = await answer_of(reader)
        assert answer.startswith(b"HTTP/1.1 408")
        assert b"did not arrive in time (at most 0.5 s" in answer
        writer.close()
        # nothing at all: closed without an answer
        reader, writer = await asyncio.open_connection(host, int(port))
        assert await answer_of(reader) == b""
        writer.close()
        # between keep-alive requests: the next head has the same deadline
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(head("GET", "/api/health"))
        first = await reader.readuntil(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 200")
        writer.write(b"GET /api/health HTTP/1.1\r\nHo")
        assert b"HTTP/1.1 408" in await answer_of(reader)
        writer.close()


async def test_at_the_connection_cap_the_longest_silent_connection_makes_room(
    slow_app: FastAPI,
) -> None:
    slow_app.state.deck.settings.header_timeout = timedelta(seconds=30)
    async with guarded_serving(slow_app) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        silent = [await asyncio.open_connection(host, int(port)) for _ in range(5)]
        silent[0][1].write(b"GET / HTTP/1.1\r\n")  # the oldest: part of a head
        status, _ = await exchange(base, head("GET", "/api/health", "Connection: close"))
        assert status == 200
        assert b"408" in await answer_of(silent[0][0])  # closed to make room, saying why
        for _, writer in silent:
            writer.close()


async def test_past_the_connection_cap_of_busy_connections_a_client_gets_503(
    slow_app: FastAPI,
) -> None:
    async with (
        guarded_serving(slow_app) as (base, server),
        httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=10)) as client,
    ):
        streams = []
        for _ in range(5):  # live streams: requests in progress, never made to leave
            opened = asyncio.Event()
            streams.append(
                asyncio.create_task(read_events(client, "/api/stream", 1, opened=opened))
            )
            await asyncio.wait_for(opened.wait(), 10)
        status, text = await exchange(base, head("GET", "/api/health"))
        assert status == 503
        assert b"connection limit" in text
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        async with asyncio.timeout(5):
            # the server sees the closes one by one, with no event to wait on but its count
            while len(server.server_state.connections) > 0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        status, _ = await exchange(base, head("GET", "/api/health", "Connection: close"))
        assert status == 200


async def test_a_live_stream_outlives_the_head_deadline(slow_app: FastAPI) -> None:
    deck: Deck = slow_app.state.deck
    async with guarded_serving(slow_app) as (base, _), httpx.AsyncClient(base_url=base) as client:
        opened = asyncio.Event()
        reader = asyncio.create_task(read_events(client, "/api/stream", count=1, opened=opened))
        await asyncio.wait_for(opened.wait(), 10)
        # a slow head sent after the stream opened is refused: its deadline has passed ...
        host, port = base.removeprefix("http://").split(":")
        slow_reader, slow_writer = await asyncio.open_connection(host, int(port))
        slow_writer.write(b"GET / HTTP/1.1\r\n")
        assert b"408" in await answer_of(slow_reader)
        slow_writer.close()
        # ... and so has the stream's, which still delivers
        run = await deck.submit("echo")
        events = await reader
    assert events[0]["data"]["run_id"] == run.id
