"""The API over real HTTP: a uvicorn server on a free port, a worker, the token, a live stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import uvicorn
from fastapi import FastAPI

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings

TOKEN = "another-s3cret-for-tests"


@contextlib.asynccontextmanager
async def uvicorn_serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port in this event loop; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def first_sse_event(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Open an SSE stream, read its first event, disconnect."""
    event: dict[str, str] = {}
    async with asyncio.timeout(10), client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if not line and "data" in event:
                return event
            name, _, value = line.partition(":")
            if name in ("id", "event", "data"):
                event[name] = value.strip()
    raise AssertionError("the stream ended without an event")


async def test_a_run_is_started_executed_and_read_over_http_with_the_token(
    database_url: str, registry: Registry
) -> None:
    deck = Deck(fast_settings(database_url, token=TOKEN), registry=registry, migrate=False)
    await deck.start()
    worker = deck.worker(concurrency=2)
    await worker.start()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with (
            uvicorn_serving(create_app(deck)) as base,
            httpx.AsyncClient(base_url=base, headers=auth) as client,
            httpx.AsyncClient(base_url=base) as anonymous,
        ):
            assert (await anonymous.get("/api/runs")).status_code == 401
            assert (await anonymous.get("/api/health")).status_code == 200

            created = await client.post(
                "/api/runs", json={"workflow": "echo", "inputs": {"topic": "http"}}
            )
            assert created.status_code == 201, created.text
            run_id = created.json()["id"]
            await deck.wait(run_id, timeout=10)
            run = (await client.get(f"/api/runs/{run_id}")).json()
            assert (run["status"], run["verdict"], run["claimed_by"]) == (
                "succeeded",
                "passed",
                worker.id,
            )
            [draft, _] = (await client.get(f"/api/runs/{run_id}/artifacts")).json()
            raw = await client.get(draft["url"])
            assert raw.headers["content-type"] == "text/markdown; charset=utf-8"
            assert raw.text == "# http\n"

            stream = f"/api/runs/{run_id}/stream"
            assert (await anonymous.get(stream)).status_code == 401
            first = await first_sse_event(client, stream)
            assert first["event"] == "run.submitted"
            assert json.loads(first["data"])["run_id"] == run_id

            metrics = (await client.get("/metrics")).text
            assert 'route="/api/runs/{run_id}/stream",status="401"' in metrics
    finally:
        await deck.close()
