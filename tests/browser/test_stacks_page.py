"""The stacks pages in Chromium: a stack created from the form, started, its first cycle's
graph and decision appearing live, the scale slider moved to 0, pause-all and stop."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_stack_created_from_the_form_runs_cycles_and_is_scaled_paused_and_stopped(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    await page.goto("/stacks")
    await expect(page.get_by_text("No stacks.")).to_be_visible()
    await page.get_by_label("Name").fill("atlas")
    await page.get_by_label("Project idea").fill("A small shop for old maps")
    await expect(page.get_by_label("Builder", exact=True)).to_have_value("stack-builder")
    await page.get_by_label("Max concurrent agents").fill("4")
    await web.shot("stacks-form")
    await page.get_by_role("button", name="Create stack").click()
    await page.wait_for_url(re.compile(r"/stacks/[\w-]+$"))
    stack_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator(".run-title .badge.s-idle")).to_be_visible()
    await expect(page.get_by_text("No cycle yet: start the stack.")).to_be_visible()

    await page.get_by_role("button", name="Start", exact=True).click()
    await page.wait_for_url(re.compile(rf"/stacks/{stack_id}$"))
    await page.evaluate("window.__loaded_once = true")  # gone if the page ever reloads
    await expect(page.locator(".run-title .badge.s-running")).to_be_visible()
    # the first cycle arrives live: its graph, each role's detected work, the decision
    await expect(page.locator("svg.cycle-graph g.node").first).to_be_visible(timeout=20_000)
    planner = page.locator('.work tr[data-role="planner"]')
    await expect(planner).to_contain_text("planner:")
    await expect(page.locator("#last-decision")).to_contain_text(re.compile(r"continue|pause|stop"))
    await expect(page.locator("#todos li[data-todo]").first).to_be_visible()
    await expect(page.locator("#cycle-rows tr").first).to_be_visible()
    await page.locator("#cycle-1 summary").click()  # the first cycle: why each role ran
    await expect(page.locator("#cycle-1 .why")).to_contain_text("planner: no open todos → 9")
    artifact = page.locator("#artifacts li a").first
    await expect(artifact).to_be_visible(timeout=20_000)  # the builder's, a cycle later
    assert await page.evaluate("window.__loaded_once") is True
    await expect(page.locator("#cycle-1")).to_have_attribute("open", "")  # kept open live
    await web.shot("stack-running")
    name = await artifact.inner_text()
    await artifact.click()
    await expect(page.locator(".page-head h1")).to_have_text(name)
    await expect(page.locator("section.artifact-body h1")).to_be_visible()  # markdown, rendered
    await page.go_back()

    await page.get_by_role("link", name="Stacks", exact=True).click()
    row = page.locator(f'#stack-rows tr[data-key="{stack_id}"]')
    await expect(row.locator(".badge.s-running")).to_be_visible()
    sent = page.expect_response(lambda r: r.request.method == "POST" and "/scale" in r.url)
    async with sent, page.expect_navigation():
        await page.locator("#f-scale").fill("0")  # a change event: the form sends itself
    await expect(page.locator("#scale-value")).to_have_text("0")
    async with httpx.AsyncClient(base_url=web.base) as api:
        assert (await api.get("/api/stacks/scale")).json()["limit"] == 0
    await expect(page.locator("#f-scale")).to_have_value("0")

    await page.get_by_role("button", name="Pause all").click()
    await expect(page.locator(".alert.good")).to_contain_text("Paused every running stack")
    await expect(row.locator(".badge.s-paused")).to_be_visible()
    await row.get_by_role("button", name="Stop atlas").click()  # confirmed by the dialog
    await expect(row.locator(".badge.s-stopped")).to_be_visible()
    assert any("Stop atlas?" in d for d in web.dialogs)
    await web.shot("stacks-stopped")
    stack = await deck.stacks.get(stack_id)
    assert stack.state == "stopped"
    await page.get_by_role("link", name="Overview", exact=True).click()
    await expect(page.locator('.stacks-tiles a[href="/stacks?state=stopped"] .n')).to_have_text("1")
    await expect(page.locator('.stacks-tiles a[href="/stacks?state=running"] .n')).to_have_text("0")
    await web.shot("overview-with-stacks", full_page=False)
