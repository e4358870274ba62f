"""Hostile model output stays inert in Chromium; signing in and CSRF protect the forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.browser.conftest import Watched, deck_for, serving, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
TOKEN = "browser-test-token"


async def test_hostile_artifacts_and_events_run_no_script_and_fetch_nothing_elsewhere(
    web: Watched, deck: Deck
) -> None:
    run = await deck.submit("xss", {})
    page = web.page
    await page.goto(f"/runs/{run.id}")
    await expect(page.locator("section.gate")).to_contain_text("“go”")
    await expect(page.locator("details.artifact")).to_have_count(4)
    await deck.decide(run.id, "go", "approve")  # more payloads, now over the live stream
    await expect(page.locator("#timeline")).to_contain_text("after the gate: <img src=x")
    await expect(page.locator(".badge.s-failed")).to_be_visible()
    await expect(page.locator("details.artifact")).to_have_count(5)
    await page.locator("details.artifact summary").first.click()
    await page.locator("#timeline details.ev-data summary").first.click()
    await page.wait_for_timeout(300)  # time for anything that would fire: onerror, loads
    await web.shot("run-hostile-content")

    assert await page.evaluate("window.__xss") is None, "a payload ran"
    assert web.dialogs == []
    origin = urlsplit(web.base)
    foreign = [u for u in web.requests if urlsplit(u)[:2] != origin[:2]]
    assert foreign == [], foreign
    assert not [m for m in web.console if "Content Security Policy" in m], web.console
    hostile = page.locator("main").locator(
        "script, iframe, object, embed, [onerror], [onload], [onclick], a[href^='javascript:'], "
        "img[src^='http'], img[src^='//']"
    )
    await expect(hostile).to_have_count(0)
    # and the payloads are there to read, as text
    await expect(page.locator(".blocked-image").first).to_contain_text("example.invalid")
    await expect(page.locator(".alert.bad pre")).to_contain_text("<script>window.__xss='ev'")


@pytest_asyncio.fixture(loop_scope="session")
async def guarded(
    browser: Browser, database_url: str, registry: Registry, screenshot_dir: Path
) -> AsyncIterator[tuple[Watched, Deck]]:
    """A page of a dashboard whose server has a token (AGENTDECK_TOKEN)."""
    deck = deck_for(database_url, registry, token=TOKEN)
    await deck.start()
    try:
        async with serving(deck) as base:
            async for watched in watched_page(browser, base, screenshot_dir):
                yield watched, deck
    finally:
        await deck.close()


async def test_sign_in_then_forms_need_their_csrf_token(guarded: tuple[Watched, Deck]) -> None:
    web, deck = guarded
    run = await deck.submit("gated", {})
    page = web.page
    await page.goto(f"/runs/{run.id}")
    await page.wait_for_url(re.compile(r"/login\?next="))
    await web.shot("login")
    await page.get_by_label("Token").fill("not-it")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".alert.bad")).to_contain_text("not this server's token")
    await page.get_by_label("Token").fill(TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(rf"/runs/{run.id}$"))
    await expect(page.locator("#live-status")).to_have_text("Live")  # the stream takes the cookie

    forged = await page.request.post(
        f"/runs/{run.id}/cancel", form={"csrf_token": "forged"}, max_redirects=0
    )
    assert forged.status == 403
    missing = await page.request.post(f"/runs/{run.id}/cancel", form={}, max_redirects=0)
    assert missing.status == 403
    assert (await deck.get(run.id)).status == "queued"
    token = await page.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert token
    accepted = await page.request.post(
        f"/runs/{run.id}/cancel", form={"csrf_token": token}, max_redirects=0
    )
    assert accepted.status == 303
    assert (await deck.get(run.id)).status == "cancelled"

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(re.compile(r"/login$"))
    await page.goto("/runs")
    await page.wait_for_url(re.compile(r"/login\?next=%2Fruns$"))
