"""`agentdeck run loop ... --follow`: the live display, the verdict and the exit code."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from agentdeck import workflows
from agentdeck.cli.main import app
from agentdeck.cli.run import RunRequest, builtin_schema, parse_pair
from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.runs import Run
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.llm.decks import PROVIDER_VARS

ROOT = Path(__file__).resolve().parents[2]
LOOP_SCHEMA = builtin_schema("loop")

SERVER_TOKEN = "t0ken-for-tests-0123456789abcdefghij"  # the `server` fixture's


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The environment of an `agentdeck` command on the test's database, simulator only."""
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    env = {
        "AGENTDECK_DATABASE_URL": database_url,
        "AGENTDECK_SIMULATOR": "always",
        "AGENTDECK_POLL_INTERVAL": "0.5",
        "COLUMNS": "200",  # no wrapped lines in the captured output
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def agentdeck(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def runs_in(database_url: str) -> list[Run]:
    registry = Registry()
    workflows.register(registry)

    async def read() -> list[Run]:
        async with Deck(fast_settings(database_url), registry=registry, migrate=False) as deck:
            return (await deck.list()).items

    return asyncio.run(read())


def test_run_loop_follow_shows_stages_and_scores_and_exits_0_when_it_passes(
    cli_env: dict[str, str], database_url: str
) -> None:
    result = agentdeck(
        "run", "loop", "--input", "topic=Durable agents", "--threshold", "0.8", "--follow"
    )

    assert result.exit_code == 0, result.output
    out = result.output
    for line in (
        "attempt 1: producing (producer)",
        "attempt 1: evaluating (evaluator)",
        "attempt 2: revising (reviser)",
        "attempt 2: evaluating (evaluator)",
        "which is below the threshold 0.80",
        "which reaches the threshold 0.80",
        "verdict: passed · attempt 2/3 · score 0.8",
    ):
        assert line in out, f"{line!r} not in:\n{out}"
    assert "offline simulator" in out
    assert out.index("producing") < out.index("revising") < out.index("verdict: passed")
    [run] = runs_in(database_url)
    assert (run.status, run.verdict) == ("succeeded", "passed")
    assert run.inputs["task"] == {"topic": "Durable agents"}
    assert run.id in out


def test_run_loop_follow_exits_1_with_the_failed_verdict_and_best_attempt(
    cli_env: dict[str, str],
) -> None:
    result = agentdeck(
        "run", "loop", "--agent", "producer", "--evaluator", "evaluator", "--reviser",
        "reviser", "--threshold", "0.99", "--max-attempts", "2", "--follow",
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "verdict: failed · attempt 2/2" in result.output
    assert "best attempt: 2" in result.output
    assert "did not pass within 2 attempt(s)" in result.output


def test_run_without_follow_prints_the_run_and_leaves_it_queued(
    cli_env: dict[str, str], database_url: str
) -> None:
    result = agentdeck("run", "loop", "--input", "topic=x", "--json")

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    [run] = runs_in(database_url)
    assert printed["id"] == run.id
    assert run.status == "queued"


def test_run_with_a_concurrency_key_stores_the_key_and_limit(
    cli_env: dict[str, str], database_url: str
) -> None:
    result = agentdeck(
        "run", "loop", "--input", "topic=x", "--concurrency-key", "repo:acme",
        "--concurrency-limit", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["concurrency_key"] == "repo:acme"
    [run] = runs_in(database_url)
    assert (run.concurrency_key, run.concurrency_limit) == ("repo:acme", 2)
    alone = agentdeck("run", "loop", "--input", "topic=x", "--concurrency-limit", "2")
    assert alone.exit_code == 2
    assert "concurrency_limit needs a concurrency_key" in alone.output


def test_run_refuses_an_unknown_agent_or_workflow_with_exit_2(cli_env: dict[str, str]) -> None:
    unknown_agent = agentdeck("run", "loop", "--evaluator", "nobody")
    assert unknown_agent.exit_code == 2
    assert "no agent 'nobody'" in unknown_agent.output

    unknown_workflow = agentdeck("run", "nosuch")
    assert unknown_workflow.exit_code == 2
    assert "unknown workflow 'nosuch'" in unknown_workflow.output

    bad_input = agentdeck("run", "loop", "--threshold", "2")
    assert bad_input.exit_code == 2
    assert "pass_threshold" in bad_input.output


# --- inputs from the command line (no database) ------------------------------------------


def test_parse_pair_reads_strings_json_and_nested_keys() -> None:
    assert parse_pair("topic=a=b") == (["topic"], "a=b")
    assert parse_pair("words:=300") == (["words"], 300)
    assert parse_pair('task.tags:=["x"]') == (["task", "tags"], ["x"])
    assert parse_pair("empty=") == (["empty"], "")
    with pytest.raises(InvalidInput, match="key=value"):
        parse_pair("novalue")
    with pytest.raises(InvalidInput, match="not JSON"):
        parse_pair("n:=nope")


def test_loop_inputs_route_task_keys_and_role_flags() -> None:
    request = RunRequest(
        "loop",
        '{"task": {"audience": "engineers"}}',
        ["topic=Agents", "max_attempts:=5"],
        agent="writer",
        flags={"reviser": "editor", "pass_threshold": 0.9, "producer": None},
        priority=0,
    )
    assert request.inputs(LOOP_SCHEMA) == {
        "task": {"audience": "engineers", "topic": "Agents"},
        "max_attempts": 5,
        "producer": "writer",
        "evaluator": "writer",
        "reviser": "editor",
        "pass_threshold": 0.9,
    }


def test_loop_flags_are_refused_by_a_workflow_without_those_inputs() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    with pytest.raises(InvalidInput, match="--max-attempts: workflow 'other' has no input"):
        RunRequest("other", None, [], None, {"max_attempts": 2}, 0).inputs(schema)
    with pytest.raises(InvalidInput, match="names no agents"):
        RunRequest("other", None, [], "writer", {}, 0).inputs(schema)
    assert RunRequest("other", None, ["n:=1", "m=x"], None, {}, 0).inputs(schema) == {
        "n": 1,
        "m": "x",
    }


# --- against a running server -----------------------------------------------------------


@pytest.fixture
def server(cli_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """A real `agentdeck up` on the test's database; yields its URL."""
    pytest.importorskip("agentdeck.web.api", reason="the REST API is not there yet")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    env.update(
        {
            **cli_env,
            "PYTHONPATH": str(ROOT),
            "AGENTDECK_TOKEN": SERVER_TOKEN,
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.cli", "up", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"agentdeck up exited: {proc.communicate()[0]}")
        try:
            health: dict[str, Any] = httpx.get(f"{url}/api/health", timeout=2).json()
            if health["workers"]["alive"] >= 1:
                return
        except (httpx.TransportError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    pytest.fail("agentdeck up never answered")


@pytest.mark.timeout(120)
def test_run_follow_and_runs_commands_through_a_server(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDECK_TOKEN", SERVER_TOKEN)
    followed = agentdeck(
        "run", "loop", "--server", server, "--input", "topic=Remote", "--threshold", "0.8",
        "--follow",
    )  # fmt: skip
    assert followed.exit_code == 0, followed.output
    assert "attempt 2: revising (reviser)" in followed.output
    assert "verdict: passed · attempt 2/3" in followed.output

    listed = agentdeck("runs", "list", "--server", server, "--json")
    assert listed.exit_code == 0, listed.output
    [run] = json.loads(listed.stdout)
    assert (run["status"], run["verdict"]) == ("succeeded", "passed")

    shown = agentdeck("runs", "show", run["id"], "--server", server)
    assert json.loads(shown.stdout)["current_attempt"] == 2

    retried = agentdeck("runs", "retry", run["id"], "--server", server)
    assert retried.exit_code == 0, retried.output
    assert "queued" in retried.output or "running" in retried.output

    monkeypatch.setenv("AGENTDECK_TOKEN", "wrong")
    refused = agentdeck("runs", "list", "--server", server)
    assert refused.exit_code == 2
    assert "AGENTDECK_TOKEN" in refused.output
