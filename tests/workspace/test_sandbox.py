"""The test sandbox: no network, nothing writable but the worktree, no keys, a timeout."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.agents.workspace import run_sandboxed


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port that accepts connections on the host's loopback."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


async def test_sandbox_has_no_network(tmp_path: Path, listener: int) -> None:
    probe = f"import socket; socket.create_connection(('127.0.0.1', {listener}), timeout=2)"
    # the same probe succeeds outside the sandbox: the listener is real
    socket.create_connection(("127.0.0.1", listener), timeout=2).close()
    run = await run_sandboxed(tmp_path, f'python -c "{probe}"', timeout_s=30)
    assert not run.passed
    assert "Error" in run.output


async def test_sandbox_writes_only_into_the_worktree(tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    worktree.mkdir()
    outside = tmp_path / "outside.txt"
    home = Path.home() / "agentdeck-sandbox-probe.txt"
    run = await run_sandboxed(
        worktree, f"echo in > inside.txt; echo out > {outside}; echo h > {home}; true"
    )
    assert run.passed
    assert (worktree / "inside.txt").read_text() == "in\n"
    assert not outside.exists()
    assert not home.exists()


async def test_sandbox_environment_has_no_provider_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-sandbox")
    run = await run_sandboxed(tmp_path, "env")
    assert run.passed
    assert "sk-canary-sandbox" not in run.output
    assert "PATH=" in run.output


async def test_sandbox_timeout_kills_the_command(tmp_path: Path) -> None:
    started = asyncio.get_running_loop().time()
    run = await run_sandboxed(tmp_path, "echo started; sleep 30", timeout_s=1)
    assert run.timed_out
    assert not run.passed
    assert "started" in run.output
    assert asyncio.get_running_loop().time() - started < 15
