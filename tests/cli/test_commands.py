"""The `agentdeck` command, run as a real process against real databases."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from agentdeck.cli.main import app
from agentdeck.deck import Deck
from agentdeck.domain.runs import Run
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings

ROOT = Path(__file__).resolve().parents[2]


def _agentdeck(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdeck.cli", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_db_upgrade_builds_the_schema_in_a_new_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _agentdeck("db", "upgrade", env={"AGENTDECK_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    assert (data_dir / "agentdeck.db").exists()
    again = _agentdeck("db", "upgrade", env={"AGENTDECK_DATA_DIR": str(data_dir)})
    assert again.returncode == 0, again.stderr


@pytest.mark.timeout(90)
def test_up_serves_health_with_database_worker_and_version(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {**os.environ, "AGENTDECK_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.cli", "up", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            health = response.json()
            if health["workers"]["alive"] >= 1:
                break
            time.sleep(0.2)
        assert health is not None, f"agentdeck up never answered; it said:\n{proc.stdout}"
        assert response.status_code == 200
        assert health["database"]["ok"] is True
        assert health["database"]["dialect"] == (
            "sqlite" if "sqlite" in database_url else "postgresql"
        )
        assert health["workers"]["alive"] == 1
        assert health["version"]
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert "LLM: " in output  # what answers the agents, and why


def test_runs_commands_list_show_cancel_and_retry(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry()

    @registry.workflow("noop")
    async def noop(ctx: object, inputs: dict[str, object]) -> None:
        return None

    async def submit() -> Run:
        async with Deck(fast_settings(database_url), registry=registry, migrate=False) as deck:
            return await deck.submit("noop", {"topic": "cli"})

    run = asyncio.run(submit())
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", database_url)
    runner = CliRunner()

    def agentdeck(*args: str) -> Result:
        return runner.invoke(app, list(args))

    listed = agentdeck("runs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.stdout)] == [run.id]

    shown = agentdeck("runs", "show", run.id)
    assert json.loads(shown.stdout)["inputs"] == {"topic": "cli"}

    cancelled = agentdeck("runs", "cancel", run.id)
    assert cancelled.exit_code == 0
    assert "cancelled" in cancelled.stdout

    again = agentdeck("runs", "cancel", run.id)
    assert again.exit_code == 2
    assert "cancelled" in again.output
    assert "cannot become" in again.output

    retried = agentdeck("runs", "retry", run.id)
    assert retried.exit_code == 0
    assert "queued" in retried.stdout

    missing = agentdeck("runs", "show", "run_missing")
    assert missing.exit_code == 2
    assert "no run with id" in missing.output
