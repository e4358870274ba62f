"""A build in Chromium: register a repository, start a build from the form, approve the plan,
watch the phase run, read the coloured diff, approve it, see the commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from agentdeck.deck import Deck
from tests.browser.conftest import Watched
from tests.sample_repo import git, make_sample_repo
from tests.workflows.test_build import REQUEST

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_a_build_from_the_form_to_the_commit(
    web: Watched, deck: Deck, tmp_path: Path
) -> None:
    deck.settings.builds_dir = tmp_path / "builds"  # worktrees go under the test's folder
    repo = make_sample_repo(tmp_path / "cockpit")
    page = web.page
    await page.goto("/repositories")
    await page.get_by_label("Path", exact=True).fill(str(repo))
    await page.get_by_role("button", name="Register").click()
    await page.wait_for_url(re.compile(r"/repositories/cockpit$"))
    await expect(page.get_by_text("cockpit/agents/base_agent.py")).to_be_visible()

    await page.goto("/builds")
    await page.get_by_label("Request").fill(REQUEST)
    await page.get_by_label("Phases to execute").fill("1")
    await page.get_by_role("button", name="Review & plan").click()
    await page.wait_for_url(re.compile(r"/builds/run_\w+$"))
    build_id = page.url.rsplit("/", 1)[-1]
    gate = page.get_by_test_id("build-gate")
    # the page follows the build live: the plan and its gate appear without a reload
    await expect(gate).to_contain_text("“plan”", timeout=30_000)
    plan = page.get_by_test_id("plan-table")
    await expect(plan).to_contain_text("Create BackendDeveloper extending BaseAgent")
    await expect(page.get_by_test_id("plan-total-cost")).to_have_text(re.compile(r"^\$0\.\d+"))
    await web.shot("build-plan")

    await gate.get_by_role("button", name="Approve").click()
    await expect(gate).to_contain_text("“diff P1”", timeout=60_000)
    phase = page.get_by_test_id("phase-P1")
    await expect(phase).to_contain_text("Tests: passed")
    await expect(phase.locator(".ln.add").first).to_be_visible()
    await expect(phase).to_contain_text("+class BackendDeveloper(BaseAgent):")
    await expect(page.get_by_test_id("monitor")).to_contain_text("test-driven-development")
    await web.shot("build-diff")

    await gate.get_by_role("button", name="Approve").click()
    commit = page.get_by_test_id("commit-P1")
    await expect(commit).to_be_visible(timeout=30_000)
    sha = git(repo, "rev-parse", f"agentdeck/{build_id}").strip()
    await expect(commit).to_have_text(sha)
    await web.shot("build-committed")
