"""Live streams: Server-Sent Events of run events, resumable with Last-Event-ID.

One EventFeed per process reads new events once per wake-up and fans them out
to every connected client, so a hundred dashboards cost one query, not a
hundred. A client subscribes first and then reads the backlog after its
Last-Event-ID from the database; events are sent in id order and an id is
never sent twice, so a reconnecting client misses nothing and sees nothing
twice (event ids are handed out in commit order: see store/journal.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from agentdeck.deck import MAX_EVENT_ID, Deck
from agentdeck.domain.runs import Event
from agentdeck.domain.topics import Topic

BATCH = 1000
QUEUE_LIMIT = 1000  # batches; a client this far behind is dropped and reconnects
PING_INTERVAL = 15.0  # seconds of silence before a comment keeps proxies from closing


@dataclass(frozen=True, slots=True)
class Frame:
    """One event, encoded once as SSE bytes however many clients it goes to."""

    id: int
    run_id: str
    data: bytes


def encode(event: Event) -> Frame:
    kind = " ".join(event.kind.split())  # a newline would end the SSE field early
    payload = json.dumps(event_json(event))
    return Frame(
        event.id, event.run_id, f"id: {event.id}\nevent: {kind}\ndata: {payload}\n\n".encode()
    )


@dataclass(eq=False)
class Subscription:
    """One client's view of the feed: the run it follows (None: all) and what is pending."""

    run_id: str | None
    queue: asyncio.Queue[list[Frame]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT)
    )
    overflowed: bool = False

    def offer(self, frames: list[Frame]) -> None:
        if self.run_id is not None:
            frames = [f for f in frames if f.run_id == self.run_id]
        if not frames or self.overflowed:
            return
        try:
            self.queue.put_nowait(frames)
        except asyncio.QueueFull:
            # The client reads a full queue without waiting, sees the flag and ends its
            # stream; it reconnects with Last-Event-ID and reads the rest from the database.
            self.overflowed = True


class EventFeed:
    """Reads events committed after the last one it saw and hands them to subscribers."""

    def __init__(self, deck: Deck, poll_interval: timedelta) -> None:
        self._deck = deck
        self._poll = poll_interval.total_seconds()
        self._subscriptions: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._unsubscribe = deck.notifier.subscribe(self._on_notice)
        self.last_id = 0

    def _on_notice(self, topic: Topic, _run_id: str | None) -> None:
        if topic == Topic.EVENT:
            self._wake.set()

    async def start(self) -> None:
        """Start the one reader; safe when many first requests arrive at once."""
        async with self._starting:
            if self._task is None:
                self.last_id = await self._deck.last_event_id()
                self._task = asyncio.create_task(self._run(), name="agentdeck-event-feed")

    async def stop(self) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def subscribe(self, run_id: str | None) -> Subscription:
        subscription = Subscription(run_id)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()
            with contextlib.suppress(Exception):  # a failed read is retried on the next wake
                await self._read_new()

    async def _read_new(self) -> None:
        while True:
            batch = await self._deck.events(None, after=self.last_id, limit=BATCH)
            if not batch:
                return
            self.last_id = batch[-1].id
            frames = [encode(event) for event in batch]
            for subscription in list(self._subscriptions):
                subscription.offer(frames)
            if len(batch) < BATCH:
                return


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "run_id": event.run_id,
        "kind": event.kind,
        "message": event.message,
        "data": event.data,
        "created_at": event.created_at.isoformat(),
    }


async def _stream(
    deck: Deck, feed: EventFeed, run_id: str | None, after: int
) -> AsyncIterator[bytes]:
    subscription = feed.subscribe(run_id)  # before the backlog: nothing falls in between
    sent = after
    try:
        while True:
            backlog = await deck.events(run_id, after=sent, limit=BATCH)
            if backlog:
                sent = backlog[-1].id
                yield b"".join(encode(event).data for event in backlog)
            if len(backlog) < BATCH:
                break
        while not subscription.overflowed:
            try:
                async with asyncio.timeout(PING_INTERVAL):
                    frames = await subscription.queue.get()
            except TimeoutError:
                yield b": ping\n\n"
                continue
            chunks: list[bytes] = []
            while True:  # everything queued goes out in one write
                for frame in frames:
                    if frame.id > sent:
                        sent = frame.id
                        chunks.append(frame.data)
                try:
                    frames = subscription.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if chunks:
                yield b"".join(chunks)
    finally:
        feed.unsubscribe(subscription)


class EventStreamResponse(StreamingResponse):
    """Server-Sent Events: never cached, never buffered by a proxy.

    The media type is set per response, not on the class: FastAPI documents a route's
    error responses with its class's media type, and those bodies are JSON.
    """

    def __init__(self, content: AsyncIterator[bytes], status_code: int = 200) -> None:
        # status_code has a default because FastAPI reads it off the signature for OpenAPI
        super().__init__(
            content,
            status_code=status_code,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


async def feed_of(request: Request) -> EventFeed:
    """The app's feed, started on first use (create_app stops it on shutdown)."""
    state = request.app.state
    feed: EventFeed | None = getattr(state, "event_feed", None)
    if feed is None:
        deck: Deck = state.deck
        feed = EventFeed(deck, deck.settings.poll_interval)
        state.event_feed = feed
    await feed.start()
    return feed


def _resume_point(last_event_id: str | None, after: int | None) -> int:
    """Last-Event-ID (set by a reconnecting browser) wins over `?after=`."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        return min(int(last_event_id), MAX_EVENT_ID)
    return after or 0


router = APIRouter(tags=["live"])

AfterQuery = Annotated[
    int | None,
    Query(ge=0, le=MAX_EVENT_ID, description="Send events with an id above this one."),
]
LastEventId = Annotated[str | None, Header(description="Set by a reconnecting client.")]


@router.get("/api/stream", response_class=EventStreamResponse)
async def stream_all(
    request: Request, after: AfterQuery = None, last_event_id: LastEventId = None
) -> EventStreamResponse:
    """Every run's events as Server-Sent Events; without `after`, only new ones."""
    feed = await feed_of(request)
    deck: Deck = request.app.state.deck
    start = _resume_point(last_event_id, after)
    if start == 0 and last_event_id is None and after is None:
        start = feed.last_id
    return EventStreamResponse(_stream(deck, feed, None, start))


@router.get("/api/runs/{run_id}/stream", response_class=EventStreamResponse)
async def stream_run(
    request: Request, run_id: str, after: AfterQuery = None, last_event_id: LastEventId = None
) -> EventStreamResponse:
    """One run's events as Server-Sent Events, from its first event unless told otherwise."""
    deck: Deck = request.app.state.deck
    await deck.get(run_id)  # 404 for an unknown run, before the stream opens
    feed = await feed_of(request)
    start = _resume_point(last_event_id, after)
    return EventStreamResponse(_stream(deck, feed, run_id, start))
