"""The API reference: served by agentdeck itself, readable offline, under the pages' CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Route, expect

from tests.browser.conftest import Watched

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_the_footer_link_opens_the_api_reference_with_nothing_from_elsewhere(
    web: Watched,
) -> None:
    page = web.page
    origin = urlsplit(web.base)[:2]
    refused: list[str] = []

    async def offline(route: Route) -> None:
        """Every other site is out of reach, as on a machine with no network."""
        if urlsplit(route.request.url)[:2] == origin:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort()

    await page.route("**/*", offline)
    await page.goto("/")
    await page.locator("footer").get_by_role("link", name="API").click()
    await expect(page).to_have_url(f"{web.base}/api/docs")
    await expect(page.get_by_role("heading", name="API reference", level=1)).to_be_visible()
    submit = page.locator("article#post--api-runs")
    await expect(submit.locator("h3")).to_contain_text("POST /api/runs")
    await expect(submit).to_contain_text("Queue a run")
    # the table of contents leads to the operation, the body's type to its schema
    await (
        page.locator("nav.api-toc")
        .get_by_role("link", name="GET /api/runs/{run_id}", exact=True)
        .click()
    )
    await expect(page).to_have_url(f"{web.base}/api/docs#get--api-runs-run_id")
    await submit.get_by_role("link", name="RunIn").click()
    schema = page.locator("article#schema-RunIn")
    await expect(schema).to_be_in_viewport()
    await expect(schema).to_contain_text("at most 200 characters")
    await web.shot("api-reference", full_page=False)

    assert refused == []
    assert [u for u in web.requests if urlsplit(u)[:2] != origin] == []
    assert not [m for m in web.console if "Content Security Policy" in m], web.console
    response = await page.request.get("/api/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "cdn" not in (await response.text()).lower()
