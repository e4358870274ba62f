"""Server-Sent Events over real HTTP: delivery, order, and resumption with Last-Event-ID."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.web import live
from tests.web.live_server import read_events, serving


def _app(deck: Deck) -> FastAPI:
    app = FastAPI()
    app.state.deck = deck
    app.include_router(live.router)
    return app


def _chatty(registry: Registry, release: asyncio.Event) -> None:
    @registry.workflow("chatty")
    async def chatty(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        for n in range(inputs["first"]):
            ctx.emit("log", f"first {n}", n=n)
        await ctx.step("pause", release.wait)  # the test disconnects meanwhile
        for n in range(inputs["second"]):
            ctx.emit("log", f"second {n}", n=n)
        return "done"


async def test_run_stream_resumes_after_reconnect_with_nothing_lost_or_repeated(
    deck: Deck, registry: Registry
) -> None:
    release = asyncio.Event()
    _chatty(registry, release)
    worker = deck.worker(concurrency=2)
    await worker.start()
    run = await deck.submit("chatty", {"first": 5, "second": 7})
    async with serving(_app(deck)) as base, httpx.AsyncClient(base_url=base) as client:
        url = f"/api/runs/{run.id}/stream"
        # submitted, started, five logs: then the client goes away mid-run
        first = await read_events(client, url, count=7)
        release.set()
        await deck.wait(run.id, timeout=10)
        resumed = await read_events(
            client, url, count=8, headers={"Last-Event-ID": first[-1]["id"]}
        )
    stored = await deck.events(run.id)
    received = first + resumed
    assert [int(e["id"]) for e in received] == [e.id for e in stored]
    assert [e["event"] for e in received] == [e.kind for e in stored]
    assert received[-1]["event"] == "run.succeeded"
    assert [e["data"]["message"] for e in received if e["event"] == "log"] == [
        *(f"first {n}" for n in range(5)),
        *(f"second {n}" for n in range(7)),
    ]


async def test_global_stream_delivers_new_events_of_every_run_in_commit_order(
    deck: Deck, registry: Registry
) -> None:
    release = asyncio.Event()
    release.set()
    _chatty(registry, release)
    async with serving(_app(deck)) as base, httpx.AsyncClient(base_url=base) as client:
        before = await deck.submit("chatty", {"first": 1, "second": 0})  # not streamed: older
        opened = asyncio.Event()
        reader = asyncio.create_task(read_events(client, "/api/stream", count=10, opened=opened))
        await asyncio.wait_for(opened.wait(), 10)  # streaming from here: nothing new is missed
        worker = deck.worker(concurrency=4)
        await worker.start()
        runs = [await deck.submit("chatty", {"first": 1, "second": 0}) for _ in range(2)]
        events = await reader
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    stored = await deck.events(None, after=ids[0] - 1, limit=len(ids))
    assert [e.id for e in stored] == ids
    assert {e["data"]["run_id"] for e in events} >= {r.id for r in runs}
    assert all(e["data"]["run_id"] != before.id or e["event"] != "run.submitted" for e in events)


async def test_many_first_clients_share_one_feed_reader(deck: Deck) -> None:
    from starlette.requests import Request

    app = _app(deck)
    scope = {"type": "http", "app": app, "headers": [], "method": "GET", "path": "/"}
    feeds = await asyncio.gather(*(live.feed_of(Request(scope)) for _ in range(20)))
    try:
        assert len({id(f) for f in feeds}) == 1
        tasks = [t for t in asyncio.all_tasks() if t.get_name() == "agentdeck-event-feed"]
        assert len(tasks) == 1
    finally:
        await feeds[0].stop()


def test_a_full_subscription_overflows_without_raising() -> None:
    subscription = live.Subscription(None)
    frame = live.Frame(1, "run_x", b"")
    for _ in range(live.QUEUE_LIMIT):
        subscription.offer([frame])
    subscription.offer([frame])  # one more than fits: the client is told to reconnect
    assert subscription.overflowed
