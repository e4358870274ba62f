"""Where the plan workflow keeps its tasks: the process's task board, installed by the Deck.

The workflow decides; the board makes its decisions visible to the API and to external
agents, in a table the workflow writes only while its run's lease holds. Like the agent
runner, one board serves the process: the one of the most recently opened Deck.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.tasks import TaskWrite
from agentdeck.engine.context import RunContext


class TaskSink(Protocol):
    """What the plan workflow needs of the task board."""

    async def create(self, ctx: RunContext, rows: Sequence[dict[str, Any]]) -> None:
        """Store the run's tasks (again, harmlessly, on replay)."""
        ...

    def record(self, ctx: RunContext, writes: Sequence[TaskWrite]) -> None:
        """Queue changes; they commit together with other runs' changes."""
        ...

    async def flush(self, ctx: RunContext) -> None:
        """Wait until every change queued for the run is stored; LeaseLost if it is not."""
        ...

    async def capable(self, role: str) -> bool:
        """Whether an active external agent has this capability."""
        ...


_installed: Callable[[], TaskSink] | None = None


def install_sink(get_sink: Callable[[], TaskSink]) -> None:
    """Make `get_sink()` the board the plan workflow writes to."""
    global _installed
    _installed = get_sink


def current_sink() -> TaskSink:
    if _installed is None:
        raise AgentdeckError("no task board: open a Deck first (it installs its board)")
    return _installed()
