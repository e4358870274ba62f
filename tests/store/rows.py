"""Reading rows back in tests: counts per table, to prove a rejected command wrote nothing."""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select

from agentdeck.deck import Deck
from agentdeck.domain.runs import Event
from agentdeck.store.schema import artifacts, events, runs, signals, steps, usage

TABLES: tuple[Table, ...] = (runs, steps, events, artifacts, signals, usage)


async def row_counts(deck: Deck) -> dict[str, int]:
    """How many rows each table a run writes to holds."""

    def count(conn: Connection) -> dict[str, int]:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in TABLES
        }

    return await deck.db.read(count)


async def events_of(deck: Deck, run_id: str, kind: str) -> list[Event]:
    """The run's events of one kind, oldest first."""
    return [e for e in await deck.events(run_id) if e.kind == kind]
