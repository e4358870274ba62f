"""W5-browser: W5 seen through the dashboard in headless Chromium.

This process serves `create_app(deck)` on uvicorn with an in-process worker (as `agentdeck
up` does) and drives Debian's Chromium with Playwright (AGENTDECK_CHROMIUM, default
/usr/bin/chromium; never downloaded).

Live: the run page of one run is open and connected to its stream (the live indicator says
"Live"); then the run emits `events` "bench.tick" events at `rate` a second. A
MutationObserver installed before the page's own script notes, for every timeline entry,
when it entered the DOM (performance.timeOrigin + now(), wall-clock ms, the same clock as
the server's). `visible_p50_ms` / `visible_p99_ms` / `visible_max_ms`: that moment minus
the event's `created_at` (stamped in the committing transaction), over every tick;
`missing`: ticks that never appeared. The page's other parts (header, chart, artifacts)
are refreshed meanwhile exactly as for a person watching.

Load: a run with `page_events` events (and nothing else) is opened `loads` times in a
fresh tab. `load_p50_ms` / `load_max_ms`: navigation start -> load event end (HTML, CSS,
script, first render, all of the timeline); `html_p50_ms`: navigation start -> the
HTML's last byte (the server's work and the transfer); `html_kb`: the page's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.web.app import create_app
from bench.databases import fresh_database
from bench.harness import log, percentile, start_deck
from bench.workflows import TICK, open_deck

NAME = "W5-browser"
DEFAULTS: dict[str, Any] = {"events": 500, "rate": 50, "page_events": 1000, "loads": 7}
LIVE = "bench.browser_ticker"
BULK = "bench.bulk_events"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Runs before the page's scripts: when did each timeline entry enter the DOM?
OBSERVER = """
window.__seen = {};
new MutationObserver(function (records) {
  var at = performance.timeOrigin + performance.now();
  records.forEach(function (record) {
    record.addedNodes.forEach(function (node) {
      if (node.nodeType === 1 && node.matches("#timeline > li[data-id]")) {
        window.__seen[node.getAttribute("data-id")] = at;
      }
    });
  });
}).observe(document, { childList: true, subtree: true });
"""


async def browser_ticker(ctx: RunContext, inputs: dict[str, Any]) -> int:
    """Wait for the signal `go`, then emit `count` ticks at `rate` a second."""
    await ctx.wait_for_signal("go")
    rate, count = float(inputs["rate"]), int(inputs["count"])
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(count):
        ctx.emit(TICK, f"tick {n}", seq=n)
        await asyncio.sleep(max(0.0, start + (n + 1) / rate - loop.time()))
    return count


async def bulk_events(ctx: RunContext, inputs: dict[str, Any]) -> int:
    """A run of `count` events in all (its submitted, started and succeeded included)."""
    for n in range(int(inputs["count"]) - 3):
        ctx.emit("log", f"line {n} of a long run", n=n)
    return int(inputs["count"])


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    with fresh_database(db) as url:
        deck = open_deck(url)
        deck.registry.workflow(LIVE)(browser_ticker)
        deck.registry.workflow(BULK)(bulk_events)
        try:
            await start_deck(deck)
            await deck.worker().start()
            async with _serving(deck) as base, _browser() as browser:
                metrics = await _live(deck, browser, base, params)
                metrics.update(await _loads(deck, browser, base, params))
        finally:
            await deck.close()
    log("  " + ", ".join(f"{k} {v:.1f}" for k, v in metrics.items()))
    return metrics


@contextlib.asynccontextmanager
async def _serving(deck: Deck) -> AsyncIterator[str]:
    config = uvicorn.Config(
        create_app(deck), host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def _browser() -> AsyncIterator[Browser]:
    path = os.environ.get("AGENTDECK_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no Chromium at {path}: run scripts/ensure-chromium.sh")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def _live(
    deck: Deck, browser: Browser, base: str, params: dict[str, Any]
) -> dict[str, float]:
    count, rate = int(params["events"]), float(params["rate"])
    run = await deck.submit(LIVE, {"count": count, "rate": rate})
    await _until(deck, run.id, "waiting")
    context = await browser.new_context(base_url=base)
    try:
        page = await context.new_page()
        await page.add_init_script(OBSERVER)
        await page.goto(f"/runs/{run.id}")
        await page.wait_for_function(
            "document.getElementById('live-status').textContent === 'Live'"
        )
        await deck.signal(run.id, "go")
        done = await deck.wait(run.id, timeout=count / rate + 60)
        if done.status != "succeeded":
            raise RuntimeError(f"the ticker run ended {done.status}: {done.error}")
        ticks = [e for e in await deck.events(run.id, limit=count + 100) if e.kind == TICK]
        seen = await _seen_all(page, [e.id for e in ticks], timeout=30)
    finally:
        await context.close()
    lags = [seen[str(e.id)] - e.created_at.timestamp() * 1000 for e in ticks if str(e.id) in seen]
    if not lags:
        raise RuntimeError("no tick reached the page")
    return {
        "visible_p50_ms": percentile(lags, 50),
        "visible_p99_ms": percentile(lags, 99),
        "visible_max_ms": max(lags),
        "missing": float(len(ticks) - len(lags)),
        "events": float(len(ticks)),
    }


async def _seen_all(page: Page, ids: list[int], timeout: float) -> dict[str, float]:  # noqa: ASYNC109
    """The DOM times of the ticks, once all are there (or after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        seen: dict[str, float] = await page.evaluate("window.__seen")
        if all(str(i) in seen for i in ids) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.2)


async def _until(deck: Deck, run_id: str, status: str) -> None:
    for _ in range(500):
        if (await deck.get(run_id)).status == status:
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"run {run_id} never became {status}")


async def _loads(
    deck: Deck, browser: Browser, base: str, params: dict[str, Any]
) -> dict[str, float]:
    count = int(params["page_events"])
    run = await deck.submit(BULK, {"count": count})
    await deck.wait(run.id, timeout=60)
    shown = len(await deck.events(run.id, limit=count + 10))
    if shown != count:
        raise RuntimeError(f"the long run has {shown} events, not {count}")
    loads, html, size = [], [], 0.0
    context = await browser.new_context(base_url=base)
    try:
        for n in range(int(params["loads"]) + 1):  # the first warms the static files' cache
            page = await context.new_page()
            await page.goto(f"/runs/{run.id}", wait_until="load")
            timing = await page.evaluate(
                "(() => { const t = performance.getEntriesByType('navigation')[0];"
                " return [t.loadEventEnd, t.responseEnd, t.transferSize,"
                " document.querySelectorAll('#timeline > li').length]; })()"
            )
            await page.close()
            if timing[3] != shown:
                raise RuntimeError(f"the page showed {timing[3]} events, not {shown}")
            if n:
                loads.append(timing[0])
                html.append(timing[1])
                size = timing[2] / 1024
    finally:
        await context.close()
    return {
        "load_p50_ms": percentile(loads, 50),
        "load_max_ms": max(loads),
        "html_p50_ms": percentile(html, 50),
        "html_kb": size,
        "page_events": float(shown),
    }
