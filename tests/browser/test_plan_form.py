"""The start form's plan field in Chromium: JSON, markdown or free text, the form it was read
in said, the tasks previewed before the run starts, and the run started from each form."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MARKDOWN = """# Bakery launch
## T1: Gather the menu and prices
## T2: Build the pages (depends on T1)
- T2.1: Home page
- T2.2: Menu page
## T3: Publish (depends on T2)
"""


async def test_the_plan_field_reads_markdown_json_and_free_text_and_previews_tasks(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    await page.goto("/runs/new?workflow=plan")
    plan = page.locator("#f-plan")
    preview = page.locator("#plan-preview")
    await expect(preview).to_contain_text("Write a plan")

    await plan.fill(MARKDOWN)  # previewed while typing, without submitting
    await expect(preview.locator(".detected")).to_have_text("Detected: structured markdown")
    await expect(preview.locator(".preview-tasks li")).to_have_count(5)
    await expect(preview).to_contain_text("T2.1 Home page")
    await expect(preview).to_contain_text("after T1")
    await expect(preview).to_contain_text("5 tasks, 4 to run, in 3 waves")
    await web.shot("plan-form-markdown")

    await plan.fill(json.dumps({"tasks": [{"id": "A", "title": "Only task"}]}))
    await expect(preview.locator(".detected")).to_have_text("Detected: JSON")
    await expect(preview.locator(".preview-tasks li")).to_have_count(1)

    await plan.fill('{"tasks": [')
    await expect(preview.locator(".field-error")).to_contain_text("not valid JSON")

    await plan.fill("Build a website for my bakery with an online order form")
    await expect(preview.locator(".detected")).to_have_text("Detected: free text")
    await expect(preview).to_contain_text("The planner agent “planner” breaks it into tasks")

    # the markdown plan starts from the form (it used to be refused as invalid JSON)
    await plan.fill(MARKDOWN)
    await expect(preview.locator(".detected")).to_have_text("Detected: structured markdown")
    await page.get_by_role("button", name="Start run").click()
    await page.wait_for_url("**/runs/*")
    run_id = page.url.rstrip("/").split("/")[-1]
    run = await deck.wait(run_id, timeout=30)
    assert run.status == "succeeded", run.error
    assert sorted(t.key for t in await deck.tasks.tasks(run_id)) == [
        "T1",
        "T2",
        "T2.1",
        "T2.2",
        "T3",
    ]


async def test_free_text_from_the_form_becomes_tasks_that_follow_from_it(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    await page.goto("/runs/new?workflow=plan")
    await page.locator("#f-plan").fill("A website for my bakery")
    await page.get_by_role("button", name="Start run").click()
    await page.wait_for_url("**/runs/*")
    run = await deck.wait(page.url.rstrip("/").split("/")[-1], timeout=60)
    assert run.status == "succeeded", run.error
    titles = [t.title for t in await deck.tasks.tasks(run.id)]
    assert "Gather the bakery's content" in titles
    assert all("bakery" in t for t in titles if not t.startswith("Work out"))


async def test_without_javascript_the_preview_button_shows_the_tasks(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    await page.context.route("**/live.js*", lambda route: route.abort())
    await page.goto("/runs/new?workflow=plan")
    await page.locator("#f-plan").fill(MARKDOWN)
    await page.get_by_role("button", name="Preview tasks").click()
    preview = page.locator("#plan-preview")
    await expect(preview.locator(".detected")).to_have_text("Detected: structured markdown")
    await expect(preview.locator(".preview-tasks li")).to_have_count(5)
    await expect(page.locator("#f-plan")).to_have_value(MARKDOWN)
    started = await deck.list()
    assert [r for r in started.items if r.workflow == "plan"] == []  # previewed, not started
