"""`agentdeck schedules ...`: add, list, enable, disable and remove on the database, with
`--json`, and one-line errors for bad specs and unknown workflows."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from agentdeck.cli.main import app
from tests.cli.test_run_follow import cli_env  # noqa: F401  (fixture)


def agentdeck(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ok_json(*args: str) -> Any:
    result = agentdeck(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_schedules_commands(cli_env: dict[str, str]) -> None:  # noqa: F811
    added = ok_json(
        "schedules", "add", "nightly", "loop", "daily 3:00", "--inputs", '{"max_attempts": 2}'
    )
    assert (added["spec"], added["enabled"], added["inputs"]["max_attempts"]) == (
        "daily 03:00",
        True,
        2,
    )
    assert "T03:00:00" in added["next_due_at"]
    quiet = agentdeck("schedules", "add", "often", "loop", "every 10 minutes", "--disabled")
    assert quiet.exit_code == 0, quiet.output
    assert "(disabled)" in quiet.output

    listed = agentdeck("schedules", "list")
    assert listed.exit_code == 0, listed.output
    assert added["id"] in listed.output
    assert "daily 03:00" in listed.output
    assert "disabled" in listed.output
    assert [s["name"] for s in ok_json("schedules", "list")] == ["nightly", "often"]

    assert ok_json("schedules", "enable", "often")["enabled"] is True
    assert ok_json("schedules", "disable", "nightly")["enabled"] is False
    removed = agentdeck("schedules", "remove", "nightly")
    assert removed.exit_code == 0, removed.output
    assert [s["name"] for s in ok_json("schedules", "list")] == ["often"]


def test_schedules_errors_are_one_line(cli_env: dict[str, str]) -> None:  # noqa: F811
    for args, needle in [
        (("add", "x", "loop", "at noon"), "daily HH:MM"),
        (("add", "x", "nope", "daily 10:00"), "unknown workflow"),
        (("add", "x", "loop", "daily 10:00", "--inputs", "[1]"), "JSON object"),
        (("add", "x", "loop", "daily 10:00", "--inputs", "{"), "not JSON"),
        (("add", "x", "loop", "daily 10:00", "--inputs", '{"producer": "nobody"}'), "nobody"),
        (("remove", "ghost"), "no schedule"),
        (("enable", "ghost"), "no schedule"),
    ]:
        result = agentdeck("schedules", *args)
        assert result.exit_code == 1, result.output
        assert "error:" in result.output
        assert needle in result.output, result.output
    assert ok_json("schedules", "list") == []
