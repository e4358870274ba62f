"""Repositories and builds through the Deck: register, clone, view, start, gates, the build view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.llm.decks import drain
from tests.sample_repo import git, make_sample_repo
from tests.workflows.test_build import FAST_TESTS, REQUEST


@pytest.fixture
async def deck(database_url: str, tmp_path: Path) -> AsyncIterator[Deck]:
    registry = Registry()
    workflows.register(registry)
    settings = fast_settings(database_url, simulator="always", builds_dir=tmp_path / "builds")
    async with Deck(settings, registry=registry, migrate=False) as deck:
        yield deck


async def test_register_clone_and_view_repositories(deck: Deck, tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "cockpit")
    repositories = deck.builds.repositories
    row = await repositories.register(str(repo))
    assert row.name == "cockpit"
    with pytest.raises(Conflict, match="registered already"):
        await repositories.register(str(repo))
    with pytest.raises(InvalidInput, match="absolute path"):
        await repositories.register("relative/path")
    with pytest.raises(InvalidInput, match="not the top folder of a git repository"):
        await repositories.register(str(repo / "cockpit"))
    with pytest.raises(InvalidInput, match="cannot clone"):
        await repositories.clone(str(tmp_path / "nowhere"), name="nothing")

    copy = await repositories.clone(str(repo), name="copy")
    assert copy.origin == str(repo)
    assert Path(copy.path) == (tmp_path / "builds" / "repositories" / "copy").resolve()
    view = await repositories.view("copy")
    assert "cockpit/agents/base_agent.py" in view.tree
    assert view.branches == ["main"]
    assert view.commits[0].subject == "Sample cockpit with BaseAgent and CodeArchitect"
    assert [r.name for r in await repositories.list()] == ["cockpit", "copy"]
    await repositories.delete("copy")
    with pytest.raises(NotFound):
        await repositories.get("copy")


async def test_a_build_through_the_deck_shows_plan_phases_and_monitor(
    deck: Deck, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "cockpit")
    await deck.builds.repositories.register(str(repo))
    run = await deck.builds.start(
        "cockpit", REQUEST, max_phases=1, priority=5, test_command=FAST_TESTS
    )
    await drain(deck)
    view = await deck.builds.get(run.id)
    assert view.gate == "plan"
    assert view.plan is not None
    assert len(view.phases) == 4
    assert any("BaseAgent" in f for f in view.findings)
    with pytest.raises(InvalidInput, match="waits at 'plan', not at 'diff P1'"):
        await deck.builds.decide(run.id, "diff P1", "approve")

    await deck.builds.decide(run.id, "plan", "approve")
    await drain(deck)
    view = await deck.builds.get(run.id)
    assert view.gate == "diff P1"
    first = view.phases[0]
    assert first.status == "waiting"
    assert {d["path"] for d in first.diff} == {
        "cockpit/agents/backend_developer.py",
        "tests/test_backend_developer.py",
    }
    assert first.tests is not None
    assert first.tests["passed"] is True
    backend = next(a for a in view.monitor if a.agent == "backend")
    assert backend.skills == ["test-driven-development", "api-design", "security-review"]
    assert backend.files == ["cockpit/agents/backend_developer.py"]
    # the agent looked around with its file tools; its answer was written by the workflow
    assert backend.tools == {"list_files": 1, "read_file": 2, "search_files": 1, "write_file": 1}
    assert backend.calls == 2

    await deck.builds.decide(run.id, "diff P1", "approve")
    await drain(deck)
    view = await deck.builds.get(run.id)
    assert view.run.status == "succeeded"
    assert view.phases[0].status == "committed"
    assert view.phases[0].commit == git(repo, "rev-parse", f"agentdeck/{run.id}").strip()
    assert view.as_json()["repository"]["name"] == "cockpit"


async def test_the_queue_lists_higher_priority_first(deck: Deck, tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "cockpit")
    await deck.builds.repositories.register(str(repo), push_remote=None)
    low = await deck.builds.start("cockpit", "Add agents: Low", priority=1)
    high = await deck.builds.start("cockpit", "Add agents: High", priority=9)
    assert [r.id for r in await deck.builds.list()] == [high.id, low.id]
    moved = await deck.builds.reprioritize(low.id, 20)
    assert moved.priority == 20
    assert [r.id for r in await deck.builds.list()] == [low.id, high.id]
    with pytest.raises(InvalidInput, match="between 0 and 1000"):
        await deck.builds.reprioritize(low.id, 5000)
    await deck.cancel(high.id)
    with pytest.raises(Conflict, match="is cancelled: only a build in the queue moves"):
        await deck.builds.reprioritize(high.id, 1)
    with pytest.raises(InvalidInput, match="no push remote"):
        await deck.builds.start("cockpit", "Add agents: X", push=True)
