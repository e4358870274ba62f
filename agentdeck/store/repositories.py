"""Queries on the git repositories builds run on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, select

from agentdeck.store.schema import repositories


@dataclass(frozen=True, slots=True)
class RepositoryRow:
    """A registered repository."""

    id: str
    name: str
    path: str
    origin: str | None
    push_remote: str | None
    budget_usd: Decimal | None
    created_at: datetime


def list_repositories(conn: Connection) -> list[RepositoryRow]:
    rows = conn.execute(select(repositories).order_by(repositories.c.name))
    return [RepositoryRow(**r._mapping) for r in rows]


def find_repository(conn: Connection, key: str) -> RepositoryRow | None:
    """By id, else by name."""
    row = conn.execute(
        select(repositories).where((repositories.c.id == key) | (repositories.c.name == key))
    ).first()
    return RepositoryRow(**row._mapping) if row else None


def insert_repository(conn: Connection, row: dict[str, Any]) -> None:
    """Raises IntegrityError if a repository of that name exists."""
    conn.execute(repositories.insert(), [row])


def delete_repository(conn: Connection, repository_id: str) -> bool:
    done = conn.execute(delete(repositories).where(repositories.c.id == repository_id))
    return done.rowcount > 0
