"""The execution page of a plan run in Chromium: progress and graph follow live; a blocker
is resolved from its panel."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PLAN = [
    *({"id": f"A{i}", "title": f"Research {i}"} for i in range(3)),
    *(
        {"id": f"B{i}", "title": f"Design {i}", "prerequisites": ["A0", "A1", "A2"]}
        for i in range(3)
    ),
    {"id": "C", "title": "Launch", "confidence": 0.3, "prerequisites": ["B0", "B1", "B2"]},
]


async def test_the_execution_follows_live_and_a_blocker_is_resolved_from_the_page(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    run = await deck.submit("plan", {"plan": PLAN, "dispatch": "internal", "max_parallel": 2})
    await page.goto(f"/runs/{run.id}/execution")
    await page.evaluate("window.__loaded_once = true")  # gone if the page ever reloads
    graph = page.locator("svg.task-graph")
    await expect(graph.locator("a.node")).to_have_count(7)
    await expect(graph.locator("path")).to_have_count(12)
    # the tasks finish one after another, and the page follows without a reload
    await expect(graph.locator("a.node.t-completed")).to_have_count(6, timeout=20_000)
    await expect(graph.locator("a.node.t-blocked")).to_have_count(1)
    await expect(page.locator("#plan-progress")).to_have_attribute("value", "6")
    blocker = page.locator("#execution-blockers .blocker")
    await expect(blocker).to_contain_text("confidence 0.30 is below the review threshold")
    assert await page.evaluate("window.__loaded_once") is True
    await web.shot("execution-blocked")
    await blocker.get_by_label(re.compile("^Note")).fill("Checked: go ahead")
    await blocker.get_by_role("button", name="Retry").click()
    await page.wait_for_url(re.compile(rf"/runs/{run.id}/execution$"))
    await expect(page.locator(".run-head .badge.s-succeeded")).to_be_visible(timeout=20_000)
    await expect(graph.locator("a.node.t-completed")).to_have_count(7)
    await expect(page.locator("#execution-blockers")).to_contain_text("Nothing is blocked.")
    await page.locator('a.node[href="#task-C"]').click()
    await expect(page.locator("#task-C")).to_contain_text("Launch")
    await web.shot("execution-done")
    assert (await deck.get(run.id)).status == "succeeded"
