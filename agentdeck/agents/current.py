"""The agent runner of this process: installed by the Deck when it opens, used by `run_agent`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agentdeck.domain.errors import AgentdeckError

if TYPE_CHECKING:
    from agentdeck.agents.runner import AgentRunner

_installed: Callable[[], AgentRunner] | None = None


def install_runner(get_runner: Callable[[], AgentRunner]) -> None:
    """Make `get_runner()` the runner `run_agent` uses (the most recently opened Deck's)."""
    global _installed
    _installed = get_runner


def current_runner() -> AgentRunner:
    if _installed is None:
        raise AgentdeckError("no agent runner: open a Deck first (it installs its agents)")
    return _installed()
