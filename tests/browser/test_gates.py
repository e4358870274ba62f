"""Gates explain themselves in Chromium: which task or stage, why the run waits, and what
each button will do; a task that never ran is approved to run, never "retried"."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

HELD = [
    {"id": "A", "title": "Collect the menu"},
    {"id": "B", "title": "Publish the prices", "confidence": 0.2, "prerequisites": ["A"]},
]


async def test_a_plan_gate_names_the_task_and_says_what_approve_does(
    web: Watched, deck: Deck
) -> None:
    run = await deck.submit("plan", {"plan": HELD, "dispatch": "internal"})
    waiting = await deck.wait(run.id, timeout=30)
    assert waiting.waiting_on == "human review"
    page = web.page
    await page.goto(f"/runs/{run.id}")
    gate = page.locator("section.gate")
    await expect(gate).to_contain_text("1 task of this plan waits for a person")
    tasks = gate.locator(".gate-tasks li")
    await expect(tasks).to_have_count(1)
    await expect(tasks.first).to_contain_text("B Publish the prices")
    await expect(tasks.first).to_contain_text("never ran")
    await expect(tasks.first).to_contain_text("confidence 0.20 is below the review threshold")
    effects = gate.locator(".gate-effects")
    await expect(effects).to_contain_text(
        "Approve = run B: it was held for review before it ever ran"
    )
    await expect(effects).to_contain_text("Reject = skip B; the tasks after it go ahead")
    await expect(effects).not_to_contain_text("retry")
    await web.shot("gate-plan")

    await page.goto(f"/runs/{run.id}/execution")
    blocker = page.locator("#execution-blockers .blocker")
    await expect(blocker).to_contain_text("never ran")
    await expect(blocker.get_by_role("button", name="Retry")).to_have_count(0)
    await expect(blocker.locator(".gate-effects")).to_contain_text(
        "Approve and run = run it for the first time"
    )

    await page.goto(f"/runs/{run.id}")
    await gate.get_by_role("button", name="Approve").click()
    assert (await deck.wait(run.id, timeout=30)).status == "succeeded"
    assert {t.key: t.status for t in await deck.tasks.tasks(run.id)} == {
        "A": "completed",
        "B": "completed",
    }


async def test_a_task_that_ran_and_failed_is_retried_by_approve(web: Watched, deck: Deck) -> None:
    plan = [{"id": "X", "title": "Call a missing agent", "agent": "nobody-by-this-name"}]
    run = await deck.submit(
        "plan",
        {"plan": plan, "on_failure": "ask_human", "max_attempts": 1, "dispatch": "internal"},
    )
    await deck.wait(run.id, timeout=30)
    page = web.page
    await page.goto(f"/runs/{run.id}")
    gate = page.locator("section.gate")
    await expect(gate.locator(".gate-tasks li")).not_to_contain_text("never ran")
    await expect(gate.locator(".gate-effects")).to_contain_text("Approve = retry X (a new attempt)")
    await page.goto(f"/runs/{run.id}/execution")
    blocker = page.locator("#execution-blockers .blocker")
    await expect(blocker.get_by_role("button", name="Retry")).to_be_visible()
    await expect(blocker.locator(".gate-effects")).to_contain_text(
        "Retry = run it again (attempt 2)"
    )


async def test_any_other_gate_says_what_the_run_is_told(web: Watched, deck: Deck) -> None:
    run = await deck.submit("approval", {})
    await deck.wait(run.id, timeout=10)
    page = web.page
    await page.goto(f"/runs/{run.id}")
    effects = page.locator("section.gate .gate-effects")
    await expect(effects).to_contain_text("Approve = the run goes on past “publish”")
    await expect(effects).to_contain_text("Request changes = the run receives your comment")
    await expect(page.locator("section.gate .gate-why")).to_contain_text(
        "stopped for a person's decision"
    )
