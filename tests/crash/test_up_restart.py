"""A SIGKILLed `agentdeck up`, started again on the same machine, takes its runs back at
once: it does not wait for the dead process's leases to run out."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.crash import workflows
from tests.llm.decks import PROVIDER_VARS

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 60  # what a restarted `up` would otherwise wait for
BACK_WITHIN_S = 5.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _up(database_url: str) -> asyncio.subprocess.Process:
    """A real `agentdeck up`; returns once it says it serves."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    env.update(
        {
            "AGENTDECK_DATABASE_URL": database_url,
            "AGENTDECK_WORKFLOW_MODULES": "tests.crash.workflows",
            "AGENTDECK_LEASE_INTERVAL": str(LEASE_S),
            "AGENTDECK_WORKER_LOST_AFTER": str(2 * LEASE_S),
            "AGENTDECK_TOKEN": "",
            "PYTHONPATH": str(ROOT),
        }
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentdeck.cli",
        "up",
        "--port",
        str(_free_port()),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    said = []
    async with asyncio.timeout(90):
        while line := (await proc.stdout.readline()).decode():
            said.append(line)
            if "agentdeck " in line and "http://" in line:
                return proc
    pytest.fail("agentdeck up exited:\n" + "".join(said)[-3000:])


async def test_restarted_up_takes_back_the_runs_of_the_killed_one_at_once(
    database_url: str, tmp_path: Path
) -> None:
    registry = Registry()
    workflows.register(registry)
    deck = Deck(fast_settings(database_url), registry=registry, migrate=False)
    release = tmp_path / "release"
    run = await deck.submit("held_until_released", {"release": str(release)})
    first = await _up(database_url)
    second = None
    try:
        async with asyncio.timeout(60):
            while (await deck.get(run.id)).status != "running":  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        release.touch()
        second = await _up(database_url)
        up_at = time.monotonic()
        done = await deck.wait(run.id, timeout=LEASE_S)
        took = time.monotonic() - up_at
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        await deck.close()
    assert done.status == "succeeded", done.error
    assert done.result["held_by"] == done.result["after"] == second.pid
    assert took < BACK_WITHIN_S, f"the run went on {took:.1f} s after the restart"
