"""Queries on the agents created through the API (agents.yaml agents are not stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from agentdeck.store.schema import agents


@dataclass(frozen=True, slots=True)
class AgentRow:
    """A stored agent: its spec as JSON and when it was created and last changed."""

    name: str
    role: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def list_agents(conn: Connection) -> list[AgentRow]:
    return [AgentRow(**r._mapping) for r in conn.execute(select(agents).order_by(agents.c.name))]


def find_agent(conn: Connection, name: str) -> AgentRow | None:
    row = conn.execute(select(agents).where(agents.c.name == name)).first()
    return AgentRow(**row._mapping) if row else None


def insert_agent(conn: Connection, row: dict[str, Any]) -> None:
    """Raises IntegrityError if an agent of that name exists."""
    conn.execute(agents.insert(), [row])


def update_agent(conn: Connection, name: str, values: dict[str, Any]) -> bool:
    """True if the agent existed and was changed."""
    return conn.execute(update(agents).where(agents.c.name == name).values(**values)).rowcount > 0


def delete_agent(conn: Connection, name: str) -> bool:
    """True if the agent existed and was deleted."""
    return conn.execute(delete(agents).where(agents.c.name == name)).rowcount > 0
