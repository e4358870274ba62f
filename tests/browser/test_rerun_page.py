"""Re-run from a step on the run page, in Chromium: "re-run from here" on a model call of
the timeline chooses that step; the new run lands on its page and runs only the rest."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_re_run_from_here_on_the_timeline_forks_the_run_at_that_step(
    web: Watched, deck: Deck
) -> None:
    run = await deck.submit("loop", {"task": {"topic": "queues"}, "pass_threshold": 0.9})
    assert (await deck.wait(run.id, timeout=30)).status == "succeeded"
    page = web.page
    await page.goto(f"/runs/{run.id}")
    answered = page.locator("#timeline li", has_text="evaluator answered").nth(1)
    await answered.get_by_role("link", name="re-run from here").click()
    await expect(page.locator("#rerun-step")).to_have_value("llm:evaluate:2")
    await web.shot("rerun-form")
    await page.get_by_role("button", name="Re-run from this step").click()
    await page.wait_for_url(lambda url: run.id not in url)
    fork = page.url.rstrip("/").split("/")[-1]
    done = await deck.wait(fork, timeout=30)
    assert (done.status, done.retry_of) == ("succeeded", run.id)
    assert (await deck.costs.of_run(fork)).calls == 3  # evaluate:2, revise:3, evaluate:3
    await expect(page.locator("#timeline")).to_contain_text(f"re-run of {run.id}")
