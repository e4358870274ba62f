"""A loop run whose worker process is SIGKILLed mid-revision completes on another worker,
and the stages it had finished are not called again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from agentdeck.deck import Deck
from tests.llm.decks import PROVIDER_VARS
from tests.workflows.simulated import usage_by_step

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _start_worker(database_url: str, folder: Path) -> subprocess.Popen[bytes]:
    """A real `agentdeck worker` whose simulated model calls take a second each."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    env.update(
        {
            "AGENTDECK_DATABASE_URL": database_url,
            "AGENTDECK_SIMULATOR": "always",
            "AGENTDECK_SIMULATOR_LATENCY": "1.0",
            "AGENTDECK_LEASE_INTERVAL": "2",
            "AGENTDECK_HEARTBEAT_INTERVAL": "0.3",
            "AGENTDECK_RESCUE_INTERVAL": "0.3",
            "AGENTDECK_POLL_INTERVAL": "0.5",
            "PYTHONPATH": str(ROOT),
        }
    )
    command = [sys.executable, "-m", "agentdeck.cli", "worker", "--concurrency", "4"]
    stderr = open(folder / "worker.stderr", "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=stderr)


async def _wait_for_revision(deck: Deck, run_id: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the run's reviser call is in flight (its stage is recorded before the call)."""
    async with asyncio.timeout(60):
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the worker exited by itself with {proc.returncode}")
            run = await deck.get(run_id)
            if (run.stage, run.attempt) == ("revising", 2):
                return
            await asyncio.sleep(0.05)


async def test_loop_killed_mid_revision_completes_elsewhere_without_repeating_stages(
    deck: Deck, database_url: str, tmp_path: Path
) -> None:
    run = await deck.submit("loop", {"task": {"topic": "crash"}, "pass_threshold": 0.8})
    proc = _start_worker(database_url, tmp_path)
    try:
        await _wait_for_revision(deck, run.id, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed = await deck.get(run.id)
    assert killed.status == "running"  # nobody has noticed yet
    first_worker = killed.claimed_by
    done_before = {s.key for s in await deck.steps(run.id)}
    assert done_before == {"llm:produce:1", "draft:1", "llm:evaluate:1", "evaluation:1"}

    deck.llm.warm()  # load the LLM layer now: loading it blocks the loop, and heartbeats
    worker = deck.worker(concurrency=4)  # its rescuer returns the run once the lease expires
    await worker.start()
    done = await deck.wait(run.id, timeout=30)

    assert done.status == "succeeded", done.error
    assert (done.verdict, done.attempt) == ("passed", 2)
    assert done.claimed_by == worker.id != first_worker
    assert done.lease_epoch >= 2
    steps = await deck.steps(run.id)
    later = ["llm:revise:2", "draft:2", "llm:evaluate:2", "evaluation:2"]
    assert Counter(s.key for s in steps) == {key: 1 for key in [*done_before, *later]}
    assert all(s.attempts == 1 for s in steps)
    # one paid call per stage: produce and evaluate were not called again on the new worker
    assert await usage_by_step(deck) == {
        "llm:produce:1": 1,
        "llm:evaluate:1": 1,
        "llm:revise:2": 1,
        "llm:evaluate:2": 1,
    }
    events = await deck.events(run.id)
    answered = Counter(e.data["step"] for e in events if e.kind == "llm.answered")
    assert answered == {
        "llm:produce:1": 1,
        "llm:evaluate:1": 1,
        "llm:revise:2": 1,
        "llm:evaluate:2": 1,
    }
    assert "run.lease_expired" in [e.kind for e in events]
    # the revision was announced by both workers: it was under way when the first died
    revising = [e for e in events if e.kind == "stage.changed" and e.data["stage"] == "revising"]
    assert len(revising) == 2
    assert [a.name for a in await deck.artifacts(run.id)] == [
        "attempt-1.md",
        "attempt-1.eval.json",
        "attempt-2.md",
        "attempt-2.eval.json",
    ]
