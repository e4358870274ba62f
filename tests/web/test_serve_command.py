"""`agentdeck serve` and `up` as real processes: public binds need a token; serve runs no worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "serve-s3cret-for-tests-0123456789abcdef"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AGENTDECK_TOKEN"}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["serve", "up"])
def test_a_public_bind_without_a_token_exits_at_once_saying_why(
    command: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "agentdeck.cli", command, "--host", "0.0.0.0", "--port", "1"],
        env=_env(AGENTDECK_DATA_DIR=str(tmp_path / "data")),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "refusing to serve on 0.0.0.0 without a token" in output
    assert "AGENTDECK_TOKEN" in output
    assert not (tmp_path / "data").exists()  # refused before opening anything
    assert time.monotonic() - started < 20


@pytest.mark.timeout(90)
def test_serve_answers_with_the_token_and_runs_no_worker(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.cli", "serve", "--port", str(port)],
        env=_env(AGENTDECK_DATABASE_URL=database_url, AGENTDECK_TOKEN=TOKEN),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        health = None
        while health is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"{base}/api/health", timeout=2).json()
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, "agentdeck serve never answered"
        assert health["workers"]["alive"] == 0
        assert httpx.get(f"{base}/api/runs").status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{base}/api/runs", headers=auth).json()["items"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert "no worker here" in output
    assert TOKEN not in output
