"""The repository review is deterministic and finds the test command and class patterns."""

from __future__ import annotations

import json
from pathlib import Path

from agentdeck.agents.workspace import analyze, detect_test_command
from tests.sample_repo import make_sample_repo


def test_analysis_of_the_sample_repository(tmp_path: Path) -> None:
    repo = make_sample_repo(tmp_path / "repo")
    analysis = analyze(repo)
    assert analysis.test_command == "python -m pytest -q"
    assert analysis.base_classes == {"BaseAgent": ["CodeArchitect"]}
    assert analysis.languages["Python"] == 6
    assert "cockpit/agents/base_agent.py" in analysis.files
    assert not any(f.startswith(".git") for f in analysis.files)
    assert analysis.test_files == ["tests/test_code_architect.py"]
    assert json.dumps(analysis.as_json()) == json.dumps(analyze(repo).as_json())
    assert any("BaseAgent" in line for line in analysis.findings())


def test_detect_test_command_per_ecosystem(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"scripts": {"test": "jest"}}')
    assert detect_test_command(tmp_path, ["package.json"]) == ("npm test", "npm")
    assert detect_test_command(tmp_path, ["go.mod", "main.go"]) == ("go test ./...", "go")
    (tmp_path / "Makefile").write_text("build:\n\ttrue\ntest:\n\ttrue\n")
    assert detect_test_command(tmp_path, ["Makefile"]) == ("make test", "make")
    assert detect_test_command(tmp_path, ["README.md"]) == (None, None)
