"""Fixtures of the browser tests: Debian's Chromium under Playwright, against a real server.

Each test gets a fresh SQLite database (the browser suite is pinned to SQLite to keep it
fast; the pages only read and command the Deck, which the other suites test on both
databases), a Deck whose agents are answered by the offline simulator with a small
latency, a worker and a uvicorn server in the test's event loop, and a new browser
context. One Chromium process serves the whole session; it is never downloaded: the path
comes from AGENTDECK_CHROMIUM (set by `make test`) or /usr/bin/chromium.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Request,
    async_playwright,
    expect,
)

from agentdeck import workflows as built_in
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings
from tests.web import page_workflows, workflows

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SIMULATOR_LATENCY = timedelta(milliseconds=120)
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("AGENTDECK_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        message = f"no Chromium at {path}: run scripts/ensure-chromium.sh (Debian's package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(os.environ.get("AGENTDECK_SCREENSHOT_DIR") or "build/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
def backend() -> str:
    """SQLite only: see the module docstring."""
    return "sqlite"


@pytest.fixture
def held() -> workflows.Held:
    return workflows.Held()


@pytest.fixture
def registry(held: workflows.Held) -> Registry:
    """The built-in workflows, the API tests' (echo, gated, held) and the dashboard's own."""
    registry = Registry()
    built_in.register(registry)
    workflows.register(registry, held)
    page_workflows.register(registry)
    return registry


def deck_for(database_url: str, registry: Registry, **overrides: object) -> Deck:
    settings = fast_settings(
        database_url, simulator="always", simulator_latency=SIMULATOR_LATENCY, **overrides
    )
    return Deck(settings, registry=registry, migrate=False)


@pytest_asyncio.fixture(loop_scope="session")
async def deck(database_url: str, registry: Registry, held: workflows.Held) -> AsyncIterator[Deck]:
    """A started Deck with a running worker (its loops on: runs start by themselves)."""
    deck = deck_for(database_url, registry)
    deck.llm.warm()  # load the LLM layer now: a first call would block the loop for seconds
    await deck.start()
    await deck.worker(concurrency=8).start()
    try:
        yield deck
    finally:
        held.release.set()
        await deck.close()


@contextlib.asynccontextmanager
async def serving(deck: Deck) -> AsyncIterator[str]:
    """create_app(deck) on uvicorn at a free loopback port; yields its base URL."""
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


@pytest_asyncio.fixture(loop_scope="session")
async def server(deck: Deck) -> AsyncIterator[str]:
    async with serving(deck) as base:
        yield base


@dataclass
class Watched:
    """A page and everything it did: requests, console messages, errors, dialogs."""

    page: Page
    base: str
    folder: Path
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    async def shot(self, name: str, *, full_page: bool = True) -> Path:
        path = self.folder / f"{name}.png"
        await self.page.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path


async def watched_page(browser: Browser, base: str, folder: Path) -> AsyncIterator[Watched]:
    context = await browser.new_context(base_url=base, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    watched = Watched(page, base, folder)

    def on_console(message: ConsoleMessage) -> None:
        watched.console.append(f"{message.type}: {message.text}")

    async def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.accept()  # the run page's confirmations; the XSS test wants none

    def on_request(request: Request) -> None:
        watched.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("dialog", on_dialog)
    page.on("request", on_request)
    try:
        yield watched
    finally:
        await context.close()  # closes the live streams before the server stops
        assert watched.errors == [], watched.errors  # no script error, ever


@pytest_asyncio.fixture(loop_scope="session")
async def web(browser: Browser, server: str, screenshot_dir: Path) -> AsyncIterator[Watched]:
    async for watched in watched_page(browser, server, screenshot_dir):
        yield watched
