"""Queries on external agents: register, find by token, seen, unreachable, revoked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from agentdeck.domain.external_agents import ExternalAgentRow
from agentdeck.store.schema import external_agents


def _agent(row: Row[Any]) -> ExternalAgentRow:
    return ExternalAgentRow(**row._mapping)


def insert_agent(conn: Connection, row: dict[str, Any]) -> None:
    """Raises IntegrityError if the name is taken."""
    conn.execute(external_agents.insert(), [row])


def find_agent(conn: Connection, agent_id: str) -> ExternalAgentRow | None:
    row = conn.execute(select(external_agents).where(external_agents.c.id == agent_id)).first()
    return _agent(row) if row else None


def find_by_token_hash(conn: Connection, token_hash: str) -> ExternalAgentRow | None:
    query = select(external_agents).where(external_agents.c.token_hash == token_hash)
    row = conn.execute(query).first()
    return _agent(row) if row else None


def list_agents(conn: Connection) -> list[ExternalAgentRow]:
    query = select(external_agents).order_by(external_agents.c.name)
    return [_agent(r) for r in conn.execute(query)]


def capabilities_in_use(conn: Connection) -> set[str]:
    """Every capability of an agent that is not revoked or unreachable."""
    query = select(external_agents.c.capabilities).where(external_agents.c.status == "active")
    return {c for (caps,) in conn.execute(query) for c in caps or []}


def seen(conn: Connection, agent_id: str, now: datetime) -> None:
    """The agent polled or reported: it is reachable again, if it was not."""
    conn.execute(
        update(external_agents)
        .where(external_agents.c.id == agent_id, external_agents.c.status != "revoked")
        .values(last_seen_at=now, status="active", updated_at=now)
    )


def mark_unreachable(conn: Connection, silent_since: datetime, now: datetime) -> list[str]:
    """Active agents silent since before `silent_since` become unreachable; returns their ids."""
    rows = conn.execute(
        update(external_agents)
        .where(
            external_agents.c.status == "active",
            external_agents.c.last_seen_at < silent_since,
        )
        .values(status="unreachable", updated_at=now)
        .returning(external_agents.c.id)
    )
    return [r.id for r in rows]


def revoke(conn: Connection, agent_id: str, now: datetime) -> bool:
    result = conn.execute(
        update(external_agents)
        .where(external_agents.c.id == agent_id, external_agents.c.status != "revoked")
        .values(status="revoked", revoked_at=now, updated_at=now)
    )
    return result.rowcount == 1


def delete_agent(conn: Connection, agent_id: str) -> bool:
    result = conn.execute(delete(external_agents).where(external_agents.c.id == agent_id))
    return result.rowcount == 1
