"""SIGKILLed worker processes lose no run and record no step twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from agentdeck.deck import Deck, Submission
from agentdeck.domain.runs import RunFilter
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.crash import workflows

ROOT = Path(__file__).resolve().parents[2]
RUNS = 300
KILLS = 10

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _start_worker(database_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTDECK_DATABASE_URL": database_url,
        "AGENTDECK_WORKFLOW_MODULES": "tests.crash.workflows",
        "AGENTDECK_CRASH_LOG": str(log_path),
        "AGENTDECK_LEASE_INTERVAL": "1.5",
        "AGENTDECK_HEARTBEAT_INTERVAL": "0.3",
        "AGENTDECK_RESCUE_INTERVAL": "0.3",
        "AGENTDECK_POLL_INTERVAL": "0.5",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "agentdeck.cli", "worker", "--concurrency", "10"]
    stderr = open(log_path.with_suffix(".stderr"), "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)


async def _stuck_report(deck: Deck) -> str:
    """What the runs that did not finish look like: for a failure message."""
    stuck = await deck.list(RunFilter(statuses=("queued", "running", "waiting")), limit=5)
    lines = [f"runs did not all succeed; by status: {await deck.health()}"]
    for run in stuck.items:
        events = [f"{e.kind} {e.message}" for e in await deck.events(run.id)]
        lines.append(f"{run.id} {run.status} by {run.claimed_by} epoch {run.lease_epoch}")
        lines.append(f"  lease until {run.lease_expires_at}; events: {events}")
    return "\n".join(lines)


def _check_alive(procs: list[subprocess.Popen[bytes]], log_path: Path) -> None:
    """Fail at once, with the worker's own words, if a worker died by itself."""
    for proc in procs:
        if proc.poll() is not None:
            errors = log_path.with_suffix(".stderr").read_text()[-3000:]
            pytest.fail(f"a worker exited by itself with {proc.returncode}:\n{errors}")


async def test_sigkilled_workers_lose_no_run_and_record_no_step_twice(
    database_url: str, tmp_path: Path
) -> None:
    registry = Registry()
    workflows.register(registry)
    deck = Deck(fast_settings(database_url), registry=registry, migrate=False)
    log_path = tmp_path / "executions.log"
    log_path.touch()
    submitted = await deck.submit_many([Submission("three_steps", {"n": n}) for n in range(RUNS)])
    procs = [_start_worker(database_url, log_path) for _ in range(3)]
    kills = 0
    try:
        while kills < KILLS:
            await asyncio.sleep(1.0)
            _check_alive(procs, log_path)
            # a worker still importing holds nothing: kill one that is working
            alive = {w.pid for w in await deck.workers() if w.status == "alive"}
            working = [i for i, p in enumerate(procs) if p.pid in alive]
            if not working:
                continue
            victim = random.choice(working)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            kills += 1
            procs[victim] = _start_worker(database_url, log_path)
        try:
            async with asyncio.timeout(150):
                while True:
                    page = await deck.list(RunFilter(statuses=("succeeded",)), limit=500)
                    if len(page.items) == RUNS:
                        break
                    _check_alive(procs, log_path)
                    await asyncio.sleep(0.5)
        except TimeoutError:
            pytest.fail(await _stuck_report(deck))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        await deck.close()
    final_pids = {proc.pid for proc in procs}

    deck = Deck(fast_settings(database_url), registry=registry, migrate=False)
    try:
        executions = Counter(tuple(line.split()[:2]) for line in log_path.read_text().splitlines())
        rescued = 0
        for run in submitted:
            run = await deck.get(run.id)
            steps = await deck.steps(run.id)
            assert run.status == "succeeded", (run.id, run.status, run.error)
            # exactly one recorded result per step, and the run's result is built
            # from the recorded results: replay used the journal, not a re-execution
            assert sorted(s.key for s in steps) == sorted(workflows.STEPS)
            by_key = {s.key: s.result for s in steps}
            assert run.result == [by_key[k] for k in workflows.STEPS]
            assert all(r["n"] == run.inputs["n"] for r in run.result)
            assert all(executions[(run.id, k)] >= 1 for k in workflows.STEPS)
            rescued += run.lease_epoch > 1
        assert kills >= KILLS
        assert rescued > 0, "no run was ever taken over: the kills hit nothing"
        # the last three were stopped by SIGTERM: each said so on its way out
        final = [w for w in await deck.workers() if w.pid in final_pids]
        assert [w.status for w in final] == ["stopped"] * len(final)
    finally:
        await deck.close()
