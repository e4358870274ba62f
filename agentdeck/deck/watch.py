"""What the overview flags besides stalled runs: agents seen looping in unfinished runs."""

from __future__ import annotations

from agentdeck.domain.runs import Event, RunStatus
from agentdeck.store import journal
from agentdeck.store.database import Database

LOOPING = "agent.looping"
UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)


class Watch:
    """Reads the runs that need a person's look (the newest first)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def looping(self, limit: int = 8) -> list[Event]:
        """The latest `agent.looping` event of each unfinished run that has one."""
        statuses = [s.value for s in UNFINISHED]
        return await self.db.read(
            lambda conn: journal.latest_events_of_kind(conn, LOOPING, statuses, limit)
        )
