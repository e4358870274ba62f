"""The file tools as agent tools: list, read, search, write and edit the current worktree.

A build phase sets the worktree its agents may touch (`working_in`); the tools read it
from a context variable, so each run's agents see only their own worktree (asyncio
tasks each carry their own context) and the model never chooses the root. Outside a
phase every tool refuses. Each call is a journaled step of the agent runner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from agentdeck.agents.workspace.files import Workspace
from agentdeck.domain.errors import InvalidInput

_CURRENT: ContextVar[Workspace | None] = ContextVar("agentdeck_worktree", default=None)
MAX_LISTED = 500


@contextmanager
def working_in(root: Path) -> Iterator[Workspace]:
    """Within the block, the workspace tools act on the worktree at `root`."""
    token = _CURRENT.set(Workspace(root))
    try:
        yield Workspace(root)
    finally:
        _CURRENT.reset(token)


def _workspace() -> Workspace:
    workspace = _CURRENT.get()
    if workspace is None:
        raise InvalidInput("no worktree here: the file tools work inside a build's phase")
    return workspace


def list_files(folder: str = ".") -> list[str]:
    """The files under `folder` of the worktree (paths relative to its root)."""
    return _workspace().list_files(folder)[:MAX_LISTED]


def read_file(path: str) -> str:
    """The text of the file at `path` (relative to the worktree's root)."""
    return _workspace().read_file(path)


def search_files(pattern: str, folder: str = ".") -> list[dict[str, Any]]:
    """Lines matching the regular expression `pattern` in the files under `folder`."""
    return [h.__dict__ for h in _workspace().search(pattern, folder)]


def write_file(path: str, content: str) -> str:
    """Create or replace the file at `path` with `content`; returns its path."""
    return _workspace().write_file(path, content)


def edit_file(path: str, old: str, new: str) -> str:
    """Replace the one occurrence of `old` in the file at `path` with `new`."""
    return _workspace().edit_file(path, old, new)


READ_TOOLS: tuple[Callable[..., Any], ...] = (list_files, read_file, search_files)
TOOLS: tuple[Callable[..., Any], ...] = (*READ_TOOLS, write_file, edit_file)
