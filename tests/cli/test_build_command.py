"""`agentdeck repos` and `agentdeck build` drive a build from a terminal, gates included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentdeck.cli.main import app
from tests.llm.decks import PROVIDER_VARS
from tests.sample_repo import git, make_sample_repo
from tests.workflows.test_build import REQUEST

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("AGENTDECK_SIMULATOR", "always")
    monkeypatch.setenv("AGENTDECK_BUILDS_DIR", str(tmp_path / "builds"))
    monkeypatch.setenv("COLUMNS", "200")
    return make_sample_repo(tmp_path / "cockpit")


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_build_command_runs_the_acceptance_build_to_a_commit(env: Path) -> None:
    assert "registered cockpit" in invoke("repos", "add", str(env))
    shown = invoke("build", "start", "cockpit", REQUEST, "--phases", "1", "--run")
    assert "BaseAgent" in shown
    assert "total" in shown
    assert "waiting at gate 'plan'" in shown
    build = json.loads(invoke("build", "list", "--json"))[0]["id"]
    assert "waiting at gate 'diff P1'" in invoke("build", "approve", build, "--run")
    done = json.loads(invoke("build", "approve", build, "--run", "--json"))
    assert done["status"] == "succeeded"
    assert done["phases"][0]["status"] == "committed"
    assert "class BackendDeveloper(BaseAgent)" in git(
        env, "show", f"agentdeck/{build}:cockpit/agents/backend_developer.py"
    )


def test_build_command_errors_are_one_line(env: Path) -> None:
    result = runner.invoke(app, ["build", "start", "nowhere", "x"])
    assert result.exit_code == 1
    assert "no repository 'nowhere'" in result.output
    result = runner.invoke(app, ["repos", "add", "relative"])
    assert result.exit_code == 1
    assert "absolute path" in result.output
