"""Costs: tokens and cost of model calls, rolled up per run, agent, model and day."""

from __future__ import annotations

from datetime import datetime

from agentdeck.domain.usage import ModelCall, UsageTotal
from agentdeck.store import usage as usage_queries
from agentdeck.store.database import Database


class Costs:
    """Read-only roll-ups of the usage the runs recorded."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def of_run(self, run_id: str) -> UsageTotal:
        """Tokens and cost of one run."""
        return await self._db.read(lambda conn: usage_queries.run_total(conn, run_id))

    async def calls(self, run_id: str) -> list[ModelCall]:
        """Every model call of one run (an unknown run has none: check it exists first)."""
        return await self._db.read(lambda conn: usage_queries.list_calls(conn, run_id))

    async def by_run(self, run_ids: list[str]) -> dict[str, UsageTotal]:
        return await self._db.read(lambda conn: usage_queries.by_run(conn, run_ids))

    async def by_agent(
        self,
        *,
        run_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[UsageTotal]:
        return await self._db.read(
            lambda conn: usage_queries.by_agent(conn, run_id=run_id, since=since, until=until)
        )

    async def by_day(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        agent: str | None = None,
    ) -> list[UsageTotal]:
        return await self._db.read(
            lambda conn: usage_queries.by_day(conn, since=since, until=until, agent=agent)
        )

    async def by_model(
        self, *, run_id: str | None = None, since: datetime | None = None
    ) -> list[UsageTotal]:
        return await self._db.read(
            lambda conn: usage_queries.by_model(conn, run_id=run_id, since=since)
        )
