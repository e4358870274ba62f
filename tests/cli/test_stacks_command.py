"""`agentdeck stacks ...`: create, list, show, steer, scale and bulk moves, on the database
and on a running server (`--server`), with whole ids, `--json`, and one-line errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from agentdeck.cli.main import app
from tests.cli.test_run_follow import SERVER_TOKEN as TOKEN
from tests.cli.test_run_follow import cli_env, server  # noqa: F401  (fixtures)

NARROW = {"COLUMNS": "60"}  # a narrow terminal: ids must still come out whole


def agentdeck(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def ok_json(*args: str) -> Any:
    result = agentdeck(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_stacks_commands_on_the_database(
    cli_env: dict[str, str],  # noqa: F811
) -> None:
    created = ok_json("stacks", "create", "atlas", "--idea", "maps", "--budget", "2")
    stack_id = created["id"]
    assert (created["state"], created["idea"], created["budget_usd"]) == ("idle", "maps", "2")
    other = ok_json("stacks", "create", "globe", "--builder", "builder", "--start")
    assert other["state"] == "running"
    team = ok_json("stacks", "show", other["id"])["agents"]
    assert {a["role"]: a["agent"] for a in team}["builder"] == "builder"

    listed = agentdeck("stacks", "list", env=NARROW)
    assert listed.exit_code == 0, listed.output
    assert stack_id in listed.output
    assert other["id"] in listed.output
    assert "scale:" in listed.output
    as_json = ok_json("stacks", "list", "--state", "running")
    assert [s["name"] for s in as_json["items"]] == ["globe"]

    for action, state in (("start", "running"), ("pause", "paused"), ("resume", "running")):
        moved = agentdeck("stacks", action, stack_id)
        assert moved.exit_code == 0, moved.output
        assert f"{stack_id} {state}" in moved.output
    refused = agentdeck("stacks", "resume", stack_id)
    assert refused.exit_code == 2
    assert "error:" in refused.output
    assert "running" in refused.output

    shown = agentdeck("stacks", "show", stack_id)
    assert shown.exit_code == 0, shown.output
    assert "atlas" in shown.output
    assert "idea: maps" in shown.output
    assert "builder: stack-builder" in shown.output
    detail = ok_json("stacks", "show", stack_id)
    assert {"stack", "agents", "todos", "cycles"} <= set(detail)

    assert ok_json("stacks", "scale", "0")["limit"] == 0
    assert ok_json("stacks", "scale")["limit"] == 0
    assert ok_json("stacks", "scale", "2", "--stack", stack_id)["scale"] == 2
    bad = agentdeck("stacks", "scale", "-1")
    assert bad.exit_code != 0

    paused = ok_json("stacks", "pause-all")
    assert (paused["action"], paused["changed"]) == ("pause-all", 2)
    assert ok_json("stacks", "start-all")["changed"] == 2
    stopped = agentdeck("stacks", "stop-all")
    assert stopped.exit_code == 0
    assert "stop-all: 2 stacks changed" in stopped.output

    taken = agentdeck("stacks", "create", "atlas")
    assert taken.exit_code == 2
    assert "atlas" in taken.output
    invalid = agentdeck("stacks", "create", "bad/name")
    assert invalid.exit_code == 2
    assert "name" in invalid.output
    missing = agentdeck("stacks", "show", "stk_missing")
    assert missing.exit_code == 2


@pytest.mark.timeout(120)
def test_stacks_commands_on_a_server(server: str) -> None:  # noqa: F811
    remote = ("--server", server, "--token", TOKEN)
    created = ok_json("stacks", "create", "atlas", "--idea", "maps", *remote)
    stack_id = created["id"]
    paused = agentdeck("stacks", "pause", stack_id, *remote)
    assert paused.exit_code == 2  # idle: nothing to pause
    assert "idle" in paused.output
    started = agentdeck("stacks", "start", stack_id, *remote)
    assert f"{stack_id} running" in started.output
    listed = ok_json("stacks", "list", *remote)
    assert [s["id"] for s in listed["items"]] == [stack_id]
    assert ok_json("stacks", "scale", "0", *remote)["limit"] == 0
    assert ok_json("stacks", "stop-all", *remote)["changed"] == 1
    assert ok_json("stacks", "show", stack_id, *remote)["stack"]["state"] == "stopped"
