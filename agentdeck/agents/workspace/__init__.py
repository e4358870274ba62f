"""A build's workspace: confined file tools, git, the test sandbox and the repository review."""

from __future__ import annotations

from agentdeck.agents.workspace.analysis import Analysis, ClassInfo, analyze, detect_test_command
from agentdeck.agents.workspace.files import PathRefused, SearchHit, Workspace
from agentdeck.agents.workspace.git import Commit, FileDiff, GitError
from agentdeck.agents.workspace.sandbox import SandboxUnavailable, TestRun, run_sandboxed

__all__ = [
    "Analysis",
    "ClassInfo",
    "Commit",
    "FileDiff",
    "GitError",
    "PathRefused",
    "SandboxUnavailable",
    "SearchHit",
    "TestRun",
    "Workspace",
    "analyze",
    "detect_test_command",
    "run_sandboxed",
]
