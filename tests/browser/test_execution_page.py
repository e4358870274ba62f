"""The execution page of a plan run in Chromium: progress and graph follow live; a blocker
is resolved from its panel."""

from __future__ import annotations

import re

import httpx
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
    await expect(blocker.get_by_role("button", name="Retry")).to_have_count(0)  # it never ran
    await blocker.get_by_role("button", name="Approve and run").click()
    await page.wait_for_url(re.compile(rf"/runs/{run.id}/execution$"))
    await expect(page.locator(".run-head .badge.s-succeeded")).to_be_visible(timeout=20_000)
    await expect(graph.locator("a.node.t-completed")).to_have_count(7)
    await expect(page.locator("#execution-blockers")).to_contain_text("Nothing is blocked.")
    await page.locator('a.node[href="#task-C"]').click()
    await expect(page.locator("#task-C")).to_contain_text("Launch")
    await web.shot("execution-done")
    assert (await deck.get(run.id)).status == "succeeded"


async def test_each_task_shows_its_output_rendered_and_sanitised_and_its_facts(
    web: Watched, deck: Deck
) -> None:
    plan = {
        "title": "Bakery site",
        "tasks": [
            {
                "id": "T1",
                "title": "Gather the menu",
                "confidence": 0.9,
                "estimate_hours": 2,
                "phase": "Content",
            },
            {"id": "T2", "title": "Build the pages", "prerequisites": ["T1"], "phase": "Build"},
        ],
    }
    run = await deck.submit("plan", {"plan": plan, "dispatch": "internal"})
    assert (await deck.wait(run.id, timeout=30)).status == "succeeded"
    page = web.page
    await page.goto(f"/runs/{run.id}/execution")
    first = page.locator("#task-T1")
    facts = first.locator(".task-facts")
    await expect(facts).to_contain_text("confidence 0.90")
    await expect(facts).to_contain_text("estimate 2 h")
    await expect(facts).to_contain_text("phase Content")
    await expect(facts).to_contain_text("1 attempt")
    await expect(facts).to_contain_text(re.compile(r"took \d+\.\d s"))
    await expect(page.locator("#task-T2 .task-facts")).to_contain_text("phase Build")
    output = first.locator("details.task-output")
    await expect(output.locator("summary")).to_contain_text("Output by executor")
    await output.locator("summary").click()
    # the agent's markdown is rendered: its title is a heading, not "# ..." text
    await expect(output.locator(".artifact-body h1")).to_have_text("Gather the menu")
    second = page.locator("#task-T2 details.task-output")
    await second.locator("summary").click()
    await expect(second).to_contain_text("It builds on T1: Gather the menu.")
    await web.shot("execution-outputs")


async def test_a_hostile_task_output_is_shown_as_inert_text(web: Watched, deck: Deck) -> None:
    run = await deck.submit(
        "plan",
        {"plan": [{"id": "X", "title": "Hostile", "assignee": "external"}], "dispatch": "external"},
    )
    registered = await deck.tasks.register("writer", ["executor"])
    token = registered.token
    async with httpx.AsyncClient(base_url=web.base) as api:
        auth = {"Authorization": f"Bearer {token}"}
        work = await api.get(f"/api/agents/{registered.agent.id}/work?wait=5", headers=auth)
        assert work.status_code == 200, work.text
        task_id = work.json()["task"]["id"]
        hostile = "# Done\n\n<script>window.__owned = 1</script><img src=x onerror=alert(1)>"
        report = await api.post(
            f"/api/tasks/{task_id}/events",
            headers=auth,
            json={
                "type": "completed",
                "lease_id": work.json()["lease"]["id"],
                "output": {"text": hostile},
            },
        )
        assert report.status_code < 300, report.text
    assert (await deck.wait(run.id, timeout=30)).status == "succeeded"
    page = web.page
    await page.goto(f"/runs/{run.id}/execution")
    output = page.locator("#task-X details.task-output")
    await output.locator("summary").click()
    await expect(output.locator("h1")).to_have_text("Done")
    await expect(output.locator("script, img")).to_have_count(0)
    assert await page.evaluate("window.__owned") is None
    assert web.dialogs == []
