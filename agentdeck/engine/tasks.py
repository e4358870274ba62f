"""RunTasks (`ctx.tasks`): the tasks a run keeps where the API and external agents see them.

The plan workflow decides and its tasks record the decisions, through the worker's one
fenced writer: a change is written only while the run still holds its lease, in the
same group commit as the other runs' writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agentdeck.domain.runs import Claim
from agentdeck.domain.tasks import TaskWrite
from agentdeck.engine.reconnect import outlast
from agentdeck.engine.writer import JournalWriter, Write
from agentdeck.store import external_agents as agent_queries
from agentdeck.store.database import Database


class RunTasks:
    """Create and change one run's tasks; `flush()` waits until its changes are stored."""

    def __init__(self, run: Claim, writer: JournalWriter, db: Database) -> None:
        self._run = run
        self._writer = writer
        self._db = db
        self._unsettled: list[asyncio.Future[Any]] = []

    async def create(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store the run's tasks (again, harmlessly, on replay); LeaseLost if it is not."""
        await self._send(Write(self._run.id, self._run.lease_epoch, task_rows=list(rows)))

    def record(self, writes: Sequence[TaskWrite]) -> None:
        """Queue changes; they commit together with other runs' writes."""
        self._send(Write(self._run.id, self._run.lease_epoch, task_writes=list(writes)))

    async def flush(self) -> None:
        """Wait for every change queued; LeaseLost if the run no longer held its lease."""
        futures, self._unsettled = self._unsettled, []
        await asyncio.gather(*futures, return_exceptions=True)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error

    async def capable(self, role: str) -> bool:
        """Whether an active external agent has this capability."""
        roles = await outlast(
            lambda: self._db.read(agent_queries.capabilities_in_use),
            what=f"run {self._run.id}: reading external agents' capabilities",
        )
        return role in roles

    def _send(self, write: Write) -> asyncio.Future[Any]:
        future = self._writer.send(write)
        future.add_done_callback(_retrieve)
        # forget changes already stored; keep a refused one for flush() to raise
        self._unsettled = [f for f in self._unsettled if not f.done() or f.exception()]
        self._unsettled.append(future)
        return future


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it; flush() raises it
