"""The build workflow on real git repositories, answered by the offline simulator.

Acceptance (seed 004's MVP): a repository with a BaseAgent and a CodeArchitect; "Add the 4
missing agents" in balanced mode gives a review and a 4-phase plan with a cost
projection; phase 1 writes BackendDeveloper extending BaseAgent with a test, the tests
pass in the sandbox, and the approved diff is committed on agentdeck/<run-id>.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.runs import Run
from tests.llm.decks import drain
from tests.sample_repo import git, make_sample_repo

# plugins of this virtualenv are not the sample repository's: skip loading them (seconds)
FAST_TESTS = "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -q -p no:cacheprovider"
REQUEST = "Add the 4 missing agents: BackendDeveloper, FrontendDeveloper, Tester, DevOpsEngineer"


async def start(deck: Deck, repo: Path, tmp_path: Path, **inputs: Any) -> Run:
    values = {
        "repository": str(repo),
        "request": REQUEST,
        "mode": "balanced",
        "worktrees_dir": str(tmp_path / "worktrees"),
        "test_timeout_s": 60,
        "test_command": FAST_TESTS,
        **inputs,
    }
    run = await deck.submit("build", values)
    await drain(deck)
    return await deck.get(run.id)


async def decide(deck: Deck, run: Run, gate: str, decision: str, comment: str | None = None) -> Run:
    assert run.waiting_on == gate, (run.status, run.waiting_on, run.error)
    await deck.decide(run.id, gate, decision, comment)
    await drain(deck)
    return await deck.get(run.id)


async def artifact(deck: Deck, run: Run, name: str) -> str:
    found = [a for a in await deck.artifacts(run.id) if a.name == name]
    assert found, f"no artifact {name}"
    return (await deck.artifact(found[-1].id)).content


async def test_build_acceptance_phase_1_is_committed_on_its_branch(
    deck: Deck, tmp_path: Path
) -> None:
    started = time.monotonic()
    repo = make_sample_repo(tmp_path / "repo")
    # the command the review detects, as a person's build would run it
    run = await start(deck, repo, tmp_path, max_phases=1, test_command=None)

    assert run.status == "waiting", run.error
    review = await artifact(deck, run, "review.md")
    assert "BaseAgent" in review
    assert "CodeArchitect" in review
    plan = json.loads(await artifact(deck, run, "plan-1.json"))
    assert [p["title"] for p in plan["phases"]] == [
        "BackendDeveloper extending BaseAgent",
        "FrontendDeveloper extending BaseAgent",
        "Tester extending BaseAgent",
        "DevOpsEngineer extending BaseAgent",
    ]
    assert plan["totals"]["phases"] == 4
    assert float(plan["totals"]["cost_usd"]) > 0  # balanced mode's priced models
    assert plan["phases"][0]["tasks"][0]["role"] == "backend"
    assert plan["phases"][0]["tasks"][0]["model"] == "openai:gpt-4.1-mini"

    run = await decide(deck, run, "plan", "approve")
    assert run.waiting_on == "diff P1", run.error
    tests = [e for e in await deck.events(run.id) if e.kind == "tests.finished"]
    assert [e.data["passed"] for e in tests] == [True]
    output = await artifact(deck, run, "tests-P1-r0.txt")
    assert "3 passed" in output
    diff = json.loads(await artifact(deck, run, "diff-P1-r0.json"))
    assert {(d["path"], d["status"]) for d in diff} == {
        ("cockpit/agents/backend_developer.py", "added"),
        ("tests/test_backend_developer.py", "added"),
    }
    worktree = tmp_path / "worktrees" / run.id
    assert worktree.is_dir()

    run = await decide(deck, run, "diff P1", "approve")
    assert run.status == "succeeded", run.error
    branch = f"agentdeck/{run.id}"
    assert run.result["branch"] == branch
    assert run.result["phases_committed"] == 1
    assert not worktree.exists()
    assert branch in git(repo, "branch", "--list", branch)
    source = git(repo, "show", f"{branch}:cockpit/agents/backend_developer.py")
    assert "class BackendDeveloper(BaseAgent):" in source
    assert "def test_backend_developer_is_a_concrete_class" in git(
        repo, "show", f"{branch}:tests/test_backend_developer.py"
    )
    message = git(repo, "log", "-1", "--format=%s", branch)
    assert message.startswith(f"agentdeck build {run.id} phase P1")
    # the committed tree is the approved diff, file by file
    for change in diff:
        committed = git(repo, "diff", f"main..{branch}", "--", change["path"])
        assert committed == change["patch"]
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert "backend_developer" not in git(repo, "ls-tree", "-r", "--name-only", "main")
    assert time.monotonic() - started < 180


async def test_build_request_changes_then_approve_commits_the_revision(
    deck: Deck, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    run = await start(deck, repo, tmp_path, max_phases=1)
    run = await decide(deck, run, "plan", "approve")
    run = await decide(deck, run, "diff P1", "changes", "Say which services it owns")
    assert run.waiting_on == "diff P1"
    diff = json.loads(await artifact(deck, run, "diff-P1-r1.json"))
    source = next(d for d in diff if d["path"].endswith("backend_developer.py"))
    assert "Revised: Say which services it owns" in source["patch"]
    run = await decide(deck, run, "diff P1", "approve")
    assert run.status == "succeeded", run.error
    committed = git(repo, "show", f"agentdeck/{run.id}:cockpit/agents/backend_developer.py")
    assert "Revised: Say which services it owns" in committed
    # the agent calls of revision 0 were not repeated by the resumes at each gate
    code_steps = [
        s.key
        for s in await deck.steps(run.id)
        if s.key.startswith("llm:code:") and "#" not in s.key  # `#1`: the turn after its tools
    ]
    assert sorted(code_steps) == [
        "llm:code:P1:1.1:0",
        "llm:code:P1:1.1:1",
        "llm:code:P1:1.2:0",
        "llm:code:P1:1.2:1",
    ]


async def test_build_rejected_diff_commits_nothing_and_removes_the_worktree(
    deck: Deck, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    run = await start(deck, repo, tmp_path, max_phases=1)
    run = await decide(deck, run, "plan", "approve")
    run = await decide(deck, run, "diff P1", "reject", "not this way")
    assert run.status == "failed"
    assert "phase P1 rejected: not this way" in (run.error or "")
    branch = f"agentdeck/{run.id}"
    assert git(repo, "rev-parse", branch) == git(repo, "rev-parse", "main")
    assert not (tmp_path / "worktrees" / run.id).exists()


async def test_build_rejected_plan_creates_no_worktree(deck: Deck, tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    run = await start(deck, repo, tmp_path)
    run = await decide(deck, run, "plan", "changes", "Only the backend please")
    assert run.waiting_on == "plan"
    assert [a.name for a in await deck.artifacts(run.id) if a.name.startswith("plan-")] == [
        "plan-1.json",
        "plan-2.json",
    ]
    run = await decide(deck, run, "plan", "reject")
    assert run.status == "failed"
    assert "plan rejected" in (run.error or "")
    assert git(repo, "branch", "--list", f"agentdeck/{run.id}") == ""
    assert not (tmp_path / "worktrees").exists()


async def test_build_per_phase_approval_without_diff_gate_pushes_to_a_bare_remote(
    deck: Deck, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    run = await start(
        deck,
        repo,
        tmp_path,
        plan_approval="per-phase",
        diff_approval=False,
        push_remote=str(bare),
    )
    run = await decide(deck, run, "phase P1", "approve")
    run = await decide(deck, run, "phase P2", "approve")
    run = await decide(deck, run, "phase P3", "reject", "enough for today")
    assert run.status == "succeeded", run.error
    assert run.result["phases_committed"] == 2
    assert run.result["stopped"] == "phase P3 not started: enough for today"
    branch = f"agentdeck/{run.id}"
    pushed = git(bare, "ls-tree", "-r", "--name-only", branch)
    assert "cockpit/agents/frontend_developer.py" in pushed
    assert "cockpit/agents/tester.py" not in pushed
    assert git(bare, "rev-parse", branch) == git(repo, "rev-parse", branch)


async def test_two_builds_on_one_repository_do_not_touch_each_other(
    deck: Deck, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    inputs = {
        "repository": str(repo),
        "mode": "frugal",
        "plan_approval": "none",
        "max_phases": 1,
        "worktrees_dir": str(tmp_path / "worktrees"),
        "test_command": FAST_TESTS,
    }
    first = await deck.submit("build", {**inputs, "request": "Add agents: Scout"})
    second = await deck.submit("build", {**inputs, "request": "Add agents: Critic"})
    await drain(deck)
    for run_id in (first.id, second.id):
        run = await deck.get(run_id)
        assert run.waiting_on == "diff P1", run.error
        await deck.decide(run_id, "diff P1", "approve")
    await drain(deck)
    one, two = await deck.get(first.id), await deck.get(second.id)
    assert (one.status, two.status) == ("succeeded", "succeeded")
    files_one = git(repo, "ls-tree", "-r", "--name-only", f"agentdeck/{first.id}")
    files_two = git(repo, "ls-tree", "-r", "--name-only", f"agentdeck/{second.id}")
    assert "cockpit/agents/scout.py" in files_one
    assert "cockpit/agents/scout.py" not in files_two
    assert "cockpit/agents/critic.py" in files_two
    assert "cockpit/agents/critic.py" not in files_one


async def test_build_inputs_are_checked_before_anything_is_queued(
    deck: Deck, tmp_path: Path
) -> None:
    base = {"repository": str(tmp_path), "request": REQUEST}
    for bad, field in (
        ({"orchestrator_model": "nowhere:model"}, "inputs.orchestrator_model"),
        ({"mode": "busu"}, "inputs.mode"),
        ({"plan_approval": "sometimes"}, "inputs.plan_approval"),
        ({"webhook_url": "ftp://x"}, "inputs.webhook_url"),
        ({"request": ""}, "inputs.request"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await deck.submit("build", {**base, **bad})
        assert caught.value.field == field
    assert (await deck.list()).items == []
