"""The run page in Chromium: a loop run started from the form, followed live; the controls."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched
from tests.web.workflows import Held

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_loop_run_started_from_the_form_shows_stages_scores_and_artifacts_live(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    await page.goto("/runs/new")
    await expect(page.get_by_role("radio", name=re.compile("^loop"))).to_be_checked()
    await expect(page.get_by_label("Producer", exact=True)).to_have_value("producer")
    await page.get_by_label("Task", exact=True).fill(
        '{"topic": "Durable execution", "audience": "engineers"}'
    )
    await page.get_by_label("Max attempts", exact=True).fill("4")
    await page.get_by_label("Pass threshold", exact=True).fill("0.9")
    await web.shot("new-run")
    await page.get_by_role("button", name="Start run").click()
    await page.wait_for_url(re.compile(r"/runs/run_\w+$"))
    await page.evaluate("window.__loaded_once = true")  # gone if the page ever reloads
    run_id = page.url.rsplit("/", 1)[1]

    timeline = page.locator("#timeline")
    await expect(timeline.get_by_text("attempt 1: producing (producer)")).to_be_visible()
    await expect(page.locator(".stats")).to_contain_text(
        re.compile(r"producing|evaluating|revising")
    )
    await web.shot("run-in-progress", full_page=False)
    await expect(timeline.locator("li.t-score").first).to_be_visible()
    await expect(page.locator("svg.chart circle").first).to_be_visible()
    await expect(page.locator(".badge.s-succeeded")).to_be_visible(timeout=20_000)

    run = await deck.get(run_id)
    assert run.verdict == "passed"
    assert run.attempt is not None
    assert run.attempt >= 2
    await expect(page.locator("svg.chart circle")).to_have_count(run.attempt)
    await expect(page.locator("details.artifact")).to_have_count(2 * run.attempt)
    await expect(page.locator("details.pair")).to_have_count(run.attempt - 1)
    await expect(page.locator(".compare .feedback").first).to_contain_text("Evaluation of attempt")
    await expect(timeline.locator("li")).to_have_count(len(await deck.events(run_id)))
    await expect(page.get_by_role("button", name="Retry")).to_be_visible()
    assert await page.evaluate("window.__loaded_once") is True  # all of it without a reload
    await web.shot("run-finished")


async def test_cancel_a_running_run(web: Watched, deck: Deck, held: Held) -> None:
    run = await deck.submit("held", {})
    await held.entered.wait()
    page = web.page
    await page.goto(f"/runs/{run.id}")
    await expect(page.locator(".badge.s-running")).to_be_visible()
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.locator(".badge.s-cancelled")).to_be_visible()
    assert web.dialogs == ["confirm: Cancel this run? It stops now and cannot be resumed."]
    await expect(page.locator("#timeline")).to_contain_text("run.cancelled")
    assert (await deck.get(run.id)).status == "cancelled"
    await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)


async def test_retry_a_failed_run_lands_on_the_new_run(web: Watched, deck: Deck) -> None:
    failed = await deck.submit("broken", {"why": "flaky network"})
    await deck.wait(failed.id, timeout=10)
    page = web.page
    await page.goto(f"/runs/{failed.id}")
    await expect(page.locator(".alert.bad")).to_contain_text("it broke (flaky network)")
    await web.shot("run-failed")
    await page.get_by_role("button", name="Retry").click()
    await page.wait_for_url(re.compile(r"/runs/run_\w+$"))
    new_id = page.url.rsplit("/", 1)[1]
    assert new_id != failed.id
    await expect(page.get_by_role("link", name=failed.id[-12:])).to_be_visible()  # "Retry of"
    await expect(page.locator("#timeline")).to_contain_text(f"retry of {failed.id}")
    await expect(page.locator(".badge.s-failed").first).to_be_visible()  # it fails again, live
    assert (await deck.get(new_id)).retry_of == failed.id


async def test_approve_a_gate(web: Watched, deck: Deck) -> None:
    run = await deck.submit("approval", {})
    page = web.page
    await page.goto(f"/runs/{run.id}")
    gate = page.locator("section.gate")
    await expect(gate).to_contain_text("Waiting for your decision at “publish”")
    await web.shot("run-gate")
    await gate.get_by_role("button", name="Request changes").click()
    await expect(page.locator("#gate-error")).to_contain_text("a comment is required")
    await expect(page.get_by_label(re.compile("^Comment"))).to_have_attribute(
        "aria-invalid", "true"
    )
    await page.get_by_label(re.compile("^Comment")).fill("Looks good, ship it")
    await page.locator("section.gate").get_by_role("button", name="Approve").click()
    await expect(page.locator(".badge.s-succeeded")).to_be_visible()
    await expect(page.locator("section.gate")).to_have_count(0)
    await expect(page.locator("#timeline")).to_contain_text("publish: approve")
    done = await deck.get(run.id)
    assert done.result["decision"] == "approve"
    assert done.result["comment"] == "Looks good, ship it"
