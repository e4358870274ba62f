"""The schedules page in Chromium: reached from the navigation, a schedule added from the
form (a bad spec first, refused beside its field), disabled, enabled and removed."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_schedule_added_from_the_form_is_listed_disabled_enabled_and_removed(
    web: Watched, deck: Deck
) -> None:
    page = web.page
    await page.goto("/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
    await expect(page.get_by_text("No schedules yet.")).to_be_visible()
    await page.get_by_label("Name").fill("nightly")
    await page.get_by_label("Workflow").select_option("echo")
    await page.get_by_label("When").fill("at teatime")
    await page.get_by_label("Inputs").fill('{"topic": "tea"}')
    await page.get_by_role("button", name="Add schedule").click()
    await expect(page.locator(".field-error")).to_contain_text("daily HH:MM")
    await expect(page.get_by_label("Name")).to_have_value("nightly")

    await page.get_by_label("When").fill("daily 03:00")
    await page.get_by_role("button", name="Add schedule").click()
    row = page.locator("tbody tr", has_text="nightly")
    await expect(row).to_contain_text("daily 03:00")
    await expect(row.locator("time")).to_contain_text("03:00")
    await web.shot("schedules")
    [schedule] = await deck.schedules.list()
    assert schedule.inputs["topic"] == "tea"

    await row.get_by_role("button", name="disable nightly").click()
    await expect(row).to_contain_text("disabled")
    assert not (await deck.schedules.get("nightly")).enabled
    await row.get_by_role("button", name="enable nightly").click()
    await expect(row.locator("time")).to_be_visible()
    await row.get_by_role("button", name="remove nightly").click()
    await expect(page.get_by_text("No schedules yet.")).to_be_visible()
    assert await deck.schedules.list() == []
