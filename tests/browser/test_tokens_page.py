"""The tokens page in Chromium: create a scoped token (secret shown once), then revoke it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_create_a_token_see_its_secret_once_and_revoke_it(web: Watched, deck: Deck) -> None:
    page = web.page
    await page.goto("/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Tokens").click()
    await page.wait_for_url("**/tokens")
    await expect(page.locator("#token-rows")).to_contain_text("No scoped token yet")

    await page.get_by_label("Name").fill("nightly ci")
    await page.get_by_label("Scopes").fill("read bogus")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#token-error")).to_contain_text("unknown scope 'bogus'")
    await expect(page.get_by_label("Name")).to_have_value("nightly ci")  # kept for the fix
    assert await deck.api_tokens.list() == []

    await page.get_by_label("Scopes").fill("read start:echo")
    await page.get_by_role("button", name="Create token").click()
    secret = (await page.locator("#token-secret").inner_text()).strip()
    await web.shot("tokens-created")
    token = await deck.api_tokens.check(secret)
    assert token is not None
    assert token.scopes == ("read", "start:echo")
    row = page.locator("#token-rows tr", has_text="nightly ci")
    await expect(row).to_contain_text("start:echo")

    await page.goto("/tokens")  # the secret is never shown again
    await expect(page.locator("#token-secret")).to_have_count(0)
    assert secret not in await page.content()

    await row.get_by_role("button", name="Revoke").click()  # the confirmation is accepted
    await expect(row).to_contain_text("revoked")
    assert any("Revoke token nightly ci" in d for d in web.dialogs)
    assert await deck.api_tokens.check(secret) is None
