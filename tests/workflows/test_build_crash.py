"""A build whose worker process is SIGKILLed during a phase resumes on another worker without
repeating the edits it had applied or the model calls it had paid for."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from agentdeck.deck import Deck
from tests.sample_repo import git, make_sample_repo
from tests.workflows.simulated import usage_by_step
from tests.workflows.test_build import FAST_TESTS
from tests.workflows.test_loop_crash import _start_worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def _wait_for_stage(
    deck: Deck, run_id: str, stage: str, proc: subprocess.Popen[bytes]
) -> None:
    async with asyncio.timeout(60):
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the worker exited by itself with {proc.returncode}")
            if (await deck.get(run_id)).stage == stage:
                return
            await asyncio.sleep(0.05)


async def test_build_killed_mid_phase_resumes_without_repeating_edits_or_calls(
    deck: Deck, database_url: str, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    inputs = {
        "repository": str(repo),
        "request": "Add agents: Scout",
        "plan_approval": "none",
        "diff_approval": False,
        "worktrees_dir": str(tmp_path / "worktrees"),
        "test_command": FAST_TESTS,
    }
    run = await deck.submit("build", inputs)
    proc = _start_worker(database_url, tmp_path)
    try:
        # the tester's call is in flight: the backend's class is written already
        await _wait_for_stage(deck, run.id, "executing P1 · 1.2 (tester)", proc)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done_before = {s.key for s in await deck.steps(run.id)}
    assert "apply:P1:1.1:0" in done_before
    assert "llm:code:P1:1.2:0" not in done_before

    deck.llm.warm()
    worker = deck.worker(concurrency=4)
    await worker.start()
    done = await deck.wait(run.id, timeout=60)

    assert done.status == "succeeded", done.error
    steps = await deck.steps(run.id)
    assert all(n == 1 for n in Counter(s.key for s in steps).values())
    assert await usage_by_step(deck) == {
        "llm:review": 1,
        "llm:plan:1": 1,
        "llm:code:P1:1.1:0": 1,
        "llm:code:P1:1.1:0#1": 1,
        "llm:code:P1:1.2:0": 1,
        "llm:code:P1:1.2:0#1": 1,
    }
    writes = [
        e.data["path"]
        for e in await deck.events(run.id)
        if e.kind == "tool.called" and e.data["tool"] == "write_file"
    ]
    assert writes == ["cockpit/agents/scout.py", "tests/test_scout.py"]
    files = git(repo, "ls-tree", "-r", "--name-only", f"agentdeck/{run.id}")
    assert "cockpit/agents/scout.py" in files
    assert "tests/test_scout.py" in files
    assert not (tmp_path / "worktrees" / run.id).exists()
