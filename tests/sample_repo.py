"""A real git repository for build tests: a BaseAgent, one CodeArchitect subclass, pytest tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

FILES = {
    "README.md": "# Sample cockpit\n\nAgents that build software.\n",
    "cockpit/__init__.py": '"""The sample cockpit."""\n',
    "cockpit/agents/__init__.py": '"""Agents."""\n',
    "cockpit/agents/base_agent.py": (
        '"""The base class of every agent."""\n\n'
        "from abc import ABC, abstractmethod\n\n\n"
        "class BaseAgent(ABC):\n"
        '    """An agent with a name and a role."""\n\n'
        '    role = "agent"\n\n'
        "    def __init__(self, name: str) -> None:\n"
        "        self.name = name\n\n"
        "    @abstractmethod\n"
        "    def execute(self, task: str) -> str:\n"
        '        """Carry out `task`."""\n\n'
        "    def describe(self) -> str:\n"
        '        return f"{self.name} ({self.role})"\n'
    ),
    "cockpit/agents/code_architect.py": (
        '"""The architect: designs before anyone builds."""\n\n'
        "from cockpit.agents.base_agent import BaseAgent\n\n\n"
        "class CodeArchitect(BaseAgent):\n"
        '    role = "architect"\n\n'
        "    def execute(self, task: str) -> str:\n"
        '        return f"design for {task}"\n'
    ),
    "tests/__init__.py": "",
    "tests/test_code_architect.py": (
        "from cockpit.agents.code_architect import CodeArchitect\n\n\n"
        "def test_architect_designs() -> None:\n"
        '    assert CodeArchitect("a").execute("x") == "design for x"\n'
    ),
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def make_sample_repo(root: Path) -> Path:
    """Create the sample repository at `root` with one commit on branch `main`."""
    root.mkdir(parents=True, exist_ok=True)
    for path, content in FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "Sample cockpit with BaseAgent and CodeArchitect")
    return root
