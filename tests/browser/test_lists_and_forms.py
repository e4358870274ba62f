"""The runs list, the overview, the workers page and the agent forms, in Chromium."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_runs_list_filters_and_picks_up_new_runs_live(web: Watched, deck: Deck) -> None:
    echoes = [await deck.submit("echo", {"topic": f"t{n}"}) for n in range(2)]
    broken = await deck.submit("broken", {"why": "needle"})
    for run in (*echoes, broken):
        await deck.wait(run.id, timeout=10)
    page = web.page
    rows = page.locator("#run-rows tr")
    await page.goto("/runs")
    await expect(rows).to_have_count(3)
    await web.shot("runs")

    await page.locator(".status-filter label", has_text="failed").click()  # submits itself
    await page.wait_for_url(re.compile(r"status=failed"))
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(broken.id)
    await page.get_by_role("link", name="Clear").click()
    await expect(rows).to_have_count(3)
    await page.get_by_label("Search").fill("needle")
    await page.get_by_label("Search").press("Enter")
    await expect(rows).to_have_count(1)
    await page.get_by_label("Workflow").select_option("echo")
    await page.wait_for_url(re.compile(r"workflow=echo"))
    await expect(page.locator("#run-rows")).to_contain_text("No run matches these filters")
    await page.goto("/runs?sort=oldest")
    await expect(rows.first).to_contain_text(echoes[0].id)

    await page.goto("/runs")
    await page.evaluate("window.__loaded_once = true")
    async with httpx.AsyncClient(base_url=web.base) as api:
        response = await api.post("/api/runs", json={"workflow": "approval"})
    assert response.status_code == 201
    started = response.json()["id"]
    new_row = page.locator(f'#run-rows tr[data-key="{started}"]')
    await expect(new_row).to_be_visible()
    await expect(rows.first).to_have_attribute("data-key", started)  # newest first
    await expect(new_row.locator(".badge.s-waiting")).to_be_visible()
    await deck.decide(started, "publish", "approve")
    await expect(new_row.locator(".badge.s-succeeded")).to_be_visible()
    assert await page.evaluate("window.__loaded_once") is True


async def test_overview_and_workers_follow_the_deck(web: Watched, deck: Deck) -> None:
    waiting = await deck.submit("approval", {})
    done = await deck.submit("echo", {})
    await deck.wait(waiting.id, timeout=10)
    await deck.wait(done.id, timeout=10)
    page = web.page
    await page.goto("/")
    await expect(page.locator(".banner")).to_contain_text("Offline simulator in use")
    failed_tile = page.locator('.tile[href="/runs?status=failed"] .n')
    await expect(failed_tile).to_have_text("0")
    waiting_list = page.locator("section", has=page.locator("#h-gates"))
    await expect(waiting_list).to_contain_text("approval · publish")
    broken = await deck.submit("broken", {"why": "overview"})
    await deck.wait(broken.id, timeout=10)
    await expect(failed_tile).to_have_text("1")  # live, from the event stream
    await expect(page.locator("section", has=page.locator("#h-fail"))).to_contain_text(
        "it broke (overview)"
    )
    await web.shot("overview")

    await page.get_by_role("link", name="Workers", exact=True).click()
    worker_rows = page.locator("#worker-rows tr")
    await expect(worker_rows).to_have_count(1)
    await expect(worker_rows.first.locator(".badge.s-alive")).to_be_visible()
    await web.shot("workers")


async def test_agent_create_and_edit_with_an_inline_validation_error(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    await page.goto("/agents")
    await expect(page.locator("tbody tr")).to_have_count(len(await deck.agents.list()))
    await web.shot("agents")
    await page.get_by_role("link", name="New agent").click()
    await page.get_by_label("Name").fill("copywriter")
    await page.get_by_label("Role").fill("producer")
    await page.get_by_label("Models").fill("nope:model-x")
    await page.get_by_label("api-design").check()
    await page.get_by_role("button", name="Create agent").click()

    models = page.get_by_label("Models")
    await expect(models).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-models")).to_contain_text("models[0]")
    await expect(page.get_by_label("api-design")).to_be_checked()  # the form kept its values
    await web.shot("agent-form-error")
    await models.fill("simulator")
    await page.get_by_role("button", name="Create agent").click()
    await page.wait_for_url(re.compile(r"/agents/copywriter\?saved=1$"))
    await expect(page.locator(".alert.good")).to_have_text("Saved.")

    await page.get_by_label("Description").fill("Writes landing pages")
    await page.get_by_label("Budget (USD per run)").fill("0.5")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator(".alert.good")).to_be_visible()
    agent = await deck.agents.get("copywriter")
    assert agent.spec.description == "Writes landing pages"
    assert str(agent.spec.budget_usd) == "0.5"
    await page.goto("/agents")
    row = page.locator('tr[data-key="copywriter"]')
    await expect(row).to_contain_text("database")
    await expect(row).to_contain_text("$0.50")

    await page.goto("/agents/producer")
    await expect(page.locator("fieldset[disabled]")).to_have_count(1)
    await expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    await expect(page.locator(".page-head")).to_contain_text("read-only")
