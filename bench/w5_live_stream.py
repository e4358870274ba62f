"""W5 live stream: 100 SSE clients on `/api/stream`, 50 events/s, then all reconnect.

This process is the server: a Deck on a fresh database, a worker, and the web app
(`create_app(deck)` plus `agentdeck.web.live.router` if it does not mount it yet) on
uvicorn at a free loopback port, all in one event loop as `agentdeck up` runs them. The
clients are `python -m bench.w5_clients` in a separate process, so they do not compete
for the server's event loop.

One rep: the clients connect (no events exist yet, so every event after `start` =
the newest event id at that moment is theirs to receive). One `bench.ticker` run emits
`rate` "bench.tick" events a second for `seconds` (phase 1); then every client closes
its stream and opens a new one with `Last-Event-ID` while the ticks go on for
`resume_seconds` more (phase 2); the run finishes, and the clients read until each has
the newest event id (at most `drain_timeout` seconds).

Metrics:
- `lag_p50_ms`, `lag_p99_ms`: client's `time.time()` on receipt - the event's `created_at`
  (stamped by the writer inside the committing transaction), over every receipt of a
  bench.tick event by every client, both phases, the backlog sent after the reconnect
  included. `live_lag_p*_ms`: the same over ticks committed while the receiving stream
  was open (the reconnect's backlog left out).
- `lost`: sum over clients of the events in the database with id > `start` (every kind:
  the ticks and the run's own run.submitted / run.started / run.succeeded) that the
  client never received. `duplicated`: sum over clients of receipts of an id it already had.
- Where the lag goes, per tick, from its `created_at` (server side, same clock), each p50
  and p99: `commit_*` (-> the writer's EVENT wake-up after the commit), `feed_*` (-> the
  EventFeed hands it to the subscriptions, seen by a probe subscription), `sent_*` (-> its
  SSE message was written to a client's socket, every client; an ASGI wrapper on
  /api/stream). lag - sent is the loopback and the client process.
- The server: `loop_delay_p99_ms` (how late a 5 ms sleep wakes on its event loop);
  `loop_cpu_pct` / `loop_wait_pct` (the loop's thread on a CPU / runnable but waiting
  for one, from Linux schedstat, percent of wall time: near 100 together = the loop is
  saturated; a large wait share = other processes had the CPUs); `server_cpu_pct` (the
  whole process, DB threads included; 100 = one core); `server_us_per_delivery` (its CPU
  time per SSE message written, the writer and the feed included: the fan-out's cost,
  whatever the machine's load).
- The clients: `client_cpu_pct`, `client_us_per_receipt`; `reconnect_max_ms` (a client's
  close -> its new stream's headers, slowest client); `drops` (streams that ended without
  being asked to; they are reopened at once from the last id).
- `events` (events each client should get); `feed_tasks` (EventFeed reader tasks running
  once the clients are connected: 1 is the design; more mean the clients' concurrent
  first requests each started one, and every event is read and offered that many times);
  `load_1m` (the machine's load average at the end of the rep, this workload included:
  above the core count the server waits for a CPU and every lag figure grows).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import logging
import math
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.deck import Deck
from agentdeck.domain.runs import Event
from agentdeck.engine.notifier import Topic
from agentdeck.web import live
from agentdeck.web.app import create_app
from bench.databases import fresh_database
from bench.harness import log, percentile, start_deck
from bench.w5_clients import ID_LINE
from bench.workflows import TICK, TICKER, open_deck

NAME = "W5"
DEFAULTS: dict[str, Any] = {
    "clients": 100,
    "rate": 50,
    "seconds": 20,
    "resume_seconds": 5,
    "drain_timeout": 30,
    "client_impl": "raw",
}
REPO = Path(__file__).resolve().parent.parent
FEED_TASK = "agentdeck-event-feed"  # the name EventFeed gives its reader task


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    with fresh_database(db) as url:
        deck = open_deck(url)
        try:
            await start_deck(deck)
            await deck.worker().start()
            metrics = await _rep(deck, params)
        finally:
            await deck.close()
    log(
        "  "
        + ", ".join(
            f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()
        )
    )
    return metrics


def _app(deck: Deck) -> FastAPI:
    """The real app; the live router added if create_app does not mount it (yet)."""
    app = create_app(deck)
    if not any(getattr(route, "path", None) == "/api/stream" for route in app.routes):
        app.include_router(live.router)
    return app


class SendProbe:
    """ASGI wrapper: when each SSE message of /api/stream was handed to the socket, by id.

    uvicorn's send writes to the transport at once, so the time taken after it returns is
    when the bytes left the server process (or were buffered because the client lags).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.sent: list[tuple[int, float]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/stream":
            await self.app(scope, receive, send)
            return

        async def probed(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body":
                now = time.time()
                self.sent += [(int(i), now) for i in ID_LINE.findall(message.get("body", b""))]

        await self.app(scope, receive, probed)


class Probes:
    """Server-side timestamps: writer commits with events, feed hand-outs, loop delay."""

    def __init__(self, deck: Deck, feed: live.EventFeed) -> None:
        self.commits: list[float] = []
        self.fed: dict[int, float] = {}
        self.loop_delays: list[float] = []
        self._unsubscribe = deck.notifier.subscribe(self._on_notice)
        self._feed = feed
        self._probe = feed.subscribe(None)
        self._probe.offer = self._on_batch  # type: ignore[method-assign]
        self._ticker = asyncio.create_task(self._watch_loop())
        # EventFeed runs one reader task; more mean concurrent first requests each started one
        self.feed_tasks = sum(t.get_name() == FEED_TASK for t in asyncio.all_tasks())

    def _on_notice(self, topic: Topic, _run_id: str | None) -> None:
        if topic == Topic.EVENT:
            self.commits.append(time.time())

    def _on_batch(self, events: list[Event]) -> None:
        now = time.time()
        for event in events:
            self.fed.setdefault(event.id, now)

    async def _watch_loop(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            self.loop_delays.append((time.perf_counter() - t0 - 0.005) * 1000)

    async def close(self) -> None:
        self._unsubscribe()
        self._feed.unsubscribe(self._probe)
        self._ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ticker

    def commit_after(self, at: float) -> float | None:
        """The first EVENT wake-up at or after `at` (the commit that carried an event)."""
        i = bisect.bisect_left(self.commits, at)
        return self.commits[i] if i < len(self.commits) else None


class DeadWrites(logging.Filter):
    """Counts, and keeps off stderr, asyncio's warning for writes to a closed socket.

    asyncio logs one from the 5th write on to a connection already lost: here, streams
    whose client went away at the reconnect while the server still had events queued
    for them. Many means the server was far behind when the clients reconnected.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("socket.send() raised exception"):
            self.count += 1
            return False
        return True


async def _rep(deck: Deck, params: dict[str, Any]) -> dict[str, float]:
    dead_writes = DeadWrites()
    logging.getLogger("asyncio").addFilter(dead_writes)
    try:
        return await _rep_serving(deck, params)
    finally:
        logging.getLogger("asyncio").removeFilter(dead_writes)
        if dead_writes.count:
            log(f"  asyncio: {dead_writes.count} writes to streams their client had closed")


async def _rep_serving(deck: Deck, params: dict[str, Any]) -> dict[str, float]:
    rate, seconds, resume_s = params["rate"], params["seconds"], params["resume_seconds"]
    app = _app(deck)
    sends = SendProbe(app)
    async with (
        _serving(sends) as base,
        _client_process(f"{base}/api/stream", params) as (clients, out),
    ):
        await clients.expect("connected", 60)
        # the feed the streams share, started by the first of them; no event exists yet
        feed: live.EventFeed = app.state.event_feed
        probes = Probes(deck, feed)
        try:
            start = await deck.last_event_id()
            count = int(rate * (seconds + resume_s))
            usage = Usage()
            run = await deck.submit(TICKER, {"rate": rate, "count": count})
            await asyncio.sleep(seconds)
            clients.send("reconnect")
            await clients.expect("reconnected", 60)
            done = await deck.wait(run.id, timeout=seconds + resume_s + 60)
            if done.status != "succeeded":
                raise RuntimeError(f"ticker run ended {done.status}: {done.error}")
            last = await deck.last_event_id()
            clients.send(f"drain {last} {params['drain_timeout']}")
            await clients.expect("done", params["drain_timeout"] + 60)
            server = usage.since()  # the ticks' whole fan-out, drain included
            report = json.loads(out.read_text())
        finally:
            await probes.close()
    if getattr(feed, "_task", None) is not None:  # an app without a lifespan that stops it
        await feed.stop()
    events = await _events_after(deck, start)
    if not events or events[-1].id != last:
        raise RuntimeError(f"expected events up to id {last} in the database")
    return _metrics(events, report, probes, sends, server)


def _metrics(
    events: list[Event],
    report: dict[str, Any],
    probes: Probes,
    sends: SendProbe,
    server: dict[str, float],
) -> dict[str, float]:
    created = {e.id: e.created_at.timestamp() for e in events}
    ticks = {e.id for e in events if e.kind == TICK}
    expected = set(created)
    lags: list[float] = []
    live_lags: list[float] = []
    lost = duplicated = drops = unexpected = receipts = 0
    reconnect_ms = 0.0
    for client in report["clients"]:
        ids: list[int] = client["ids"]
        times: list[float] = client["times"]
        got = set(ids)
        receipts += len(ids)
        lost += len(expected - got)
        duplicated += len(ids) - len(got)
        unexpected += len(got - expected)
        drops += client["drops"]
        connections = client["connections"]
        for before, after in itertools.pairwise(connections):
            reconnect_ms = max(reconnect_ms, (after["ready_at"] - before["closed_at"]) * 1000)
        bounds = [c["first_index"] for c in connections[1:]] + [len(ids)]
        begin = 0
        for connection, end in zip(connections, bounds, strict=True):
            for event_id, at in zip(ids[begin:end], times[begin:end], strict=True):
                if event_id not in ticks:
                    continue
                lag = (at - created[event_id]) * 1000
                lags.append(lag)
                if created[event_id] >= connection["ready_at"]:
                    live_lags.append(lag)
            begin = end
    if unexpected:
        log(f"  {unexpected} receipts of ids not in the database after the start point")
    commit = [
        (c - created[i]) * 1000
        for i in sorted(ticks)
        if (c := probes.commit_after(created[i])) is not None
    ]
    fed = [(probes.fed[i] - created[i]) * 1000 for i in ticks if i in probes.fed]
    sent = [(at - created[i]) * 1000 for i, at in sends.sent if i in ticks]
    if not lags:
        raise RuntimeError("the clients received no ticks")
    return {
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
        "lost": float(lost),
        "duplicated": float(duplicated),
        "live_lag_p50_ms": percentile(live_lags, 50),
        "live_lag_p99_ms": percentile(live_lags, 99),
        "commit_p50_ms": percentile(commit, 50),
        "commit_p99_ms": percentile(commit, 99),
        "feed_p50_ms": percentile(fed, 50),
        "feed_p99_ms": percentile(fed, 99),
        "sent_p50_ms": percentile(sent, 50),
        "sent_p99_ms": percentile(sent, 99),
        "loop_delay_p99_ms": percentile(probes.loop_delays, 99),
        "reconnect_max_ms": reconnect_ms,
        "drops": float(drops),
        "events": float(len(expected)),
        "feed_tasks": float(probes.feed_tasks),
        "server_us_per_delivery": server.pop("server_cpu_s") / len(sends.sent) * 1e6,
        **server,
        "client_cpu_pct": report["cpu_s"] / report["wall_s"] * 100,
        "client_us_per_receipt": report["cpu_s"] / receipts * 1e6,
        "load_1m": os.getloadavg()[0],
    }


async def _events_after(deck: Deck, start: int) -> list[Event]:
    """Every event committed after `start`, from the database, in id order."""
    events: list[Event] = []
    while batch := await deck.events(None, after=events[-1].id if events else start, limit=5000):
        events += batch
    return events


@contextlib.asynccontextmanager
async def _serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free loopback port in this event loop; yields its URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
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


class ClientProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def expect(self, word: str, timeout: float) -> None:  # noqa: ASYNC109
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            raise RuntimeError(f"the clients did not say {word!r} within {timeout} s") from None
        if line.decode().strip() != word:
            raise RuntimeError(f"the clients said {line!r}, expected {word!r}")


@contextlib.asynccontextmanager
async def _client_process(
    url: str, params: dict[str, Any]
) -> AsyncIterator[tuple[ClientProcess, Path]]:
    """`python -m bench.w5_clients` on `url`; yields it and the path of its report."""
    with tempfile.TemporaryDirectory(prefix="agentdeck-w5-") as folder:
        out = Path(folder) / "clients.json"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.w5_clients",
            "--url",
            url,
            "--clients",
            str(params["clients"]),
            "--out",
            str(out),
            "--impl",
            params["client_impl"],
            cwd=REPO,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            yield ClientProcess(proc), out
            await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


class Usage:
    """This process's CPU time, and its event loop thread's time on and waiting for a CPU."""

    def __init__(self) -> None:
        self.wall, self.cpu, self.sched = time.time(), _cpu_s(), _schedstat()

    def since(self) -> dict[str, float]:
        """Percent of the wall time since creation (100 = one core)."""
        wall = time.time() - self.wall
        on_cpu, waiting = (b - a for a, b in zip(self.sched, _schedstat(), strict=True))
        return {
            "server_cpu_s": _cpu_s() - self.cpu,
            "server_cpu_pct": (_cpu_s() - self.cpu) / wall * 100,
            "loop_cpu_pct": on_cpu / 1e9 / wall * 100,
            "loop_wait_pct": waiting / 1e9 / wall * 100,
        }


def _schedstat() -> tuple[float, float]:
    """This thread's (ns on a CPU, ns runnable but waiting for one), from Linux schedstat."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
            on_cpu, waiting, _ = f.read().split()
    except (OSError, ValueError):
        return (math.nan, math.nan)
    return (float(on_cpu), float(waiting))


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
