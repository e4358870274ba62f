"""`agentdeck agents list` and `agentdeck agents check FILE`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentdeck.agents.loading import SHIPPED_AGENTS
from agentdeck.cli.main import app

runner = CliRunner()


def test_check_accepts_the_shipped_file() -> None:
    result = runner.invoke(app, ["agents", "check", str(SHIPPED_AGENTS)])
    assert result.exit_code == 0, result.output
    assert "18 agent(s) OK" in result.output


def test_check_rejects_a_broken_file_naming_file_agent_and_field(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("agents:\n  - name: critic\n    role: evaluator\n    max_output_tokens: 0\n")
    result = runner.invoke(app, ["agents", "check", str(path)])
    assert result.exit_code == 1
    assert str(path) in result.output
    assert "agent 'critic'" in result.output
    assert "field 'max_output_tokens'" in result.output


def test_check_of_a_missing_file_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["agents", "check", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_list_json_gives_each_agents_name_role_and_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = runner.invoke(app, ["agents", "list", "--json"])
    assert result.exit_code == 0, result.output
    agents = json.loads(result.stdout)
    by_name = {a["name"]: a for a in agents}
    assert by_name["evaluator"]["role"] == "evaluator"
    assert by_name["evaluator"]["models"][0] == "openai:gpt-4.1-mini"
    assert all({"name", "role", "models"} <= set(a) for a in agents)
    assert all(a["read_only"] for a in agents)


def test_list_shows_a_table_the_skills_and_whether_the_simulator_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["agents", "list"])
    assert result.exit_code == 0, result.output
    assert "producer" in result.output
    assert "security-review" in result.output
    assert "backend, coder, devops, reviewer" in result.output
    assert "offline simulator" in result.output


def test_a_broken_agents_file_stops_the_command_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("agents:\n  - name: x\n    role: producer\n    models: [nope:model]\n")
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("AGENTDECK_AGENTS_FILE", str(path))
    result = runner.invoke(app, ["agents", "list"])
    assert result.exit_code == 1
    assert "agent 'x'" in result.output
    assert "models[0]" in result.output
