"""Queries on scoped API tokens: create, find by hash, list, mark used, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from agentdeck.domain.api_tokens import ApiToken
from agentdeck.store.schema import api_tokens as tokens


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def insert_token(
    conn: Connection, id: str, name: str, secret_hash: str, scopes: tuple[str, ...], now: datetime
) -> ApiToken:
    values = {
        "id": id,
        "name": name,
        "secret_hash": secret_hash,
        "scopes": list(scopes),
        "created_at": now,
    }
    conn.execute(tokens.insert(), [values])
    return ApiToken(id, name, scopes, now, None, None)


def active_by_hash(conn: Connection, secret_hash: str) -> ApiToken | None:
    query = select(tokens).where(tokens.c.secret_hash == secret_hash, tokens.c.revoked_at.is_(None))
    row = conn.execute(query).first()
    return _token(row) if row is not None else None


def list_tokens(conn: Connection) -> list[ApiToken]:
    rows = conn.execute(select(tokens).order_by(tokens.c.created_at.desc(), tokens.c.id.desc()))
    return [_token(row) for row in rows]


def get_token(conn: Connection, id: str) -> ApiToken | None:
    row = conn.execute(select(tokens).where(tokens.c.id == id)).first()
    return _token(row) if row is not None else None


def mark_used(conn: Connection, id: str, now: datetime) -> None:
    conn.execute(update(tokens).where(tokens.c.id == id).values(last_used_at=now))


def revoke(conn: Connection, id: str, now: datetime) -> bool:
    """True if the token was active; revoking twice changes nothing."""
    query = update(tokens).where(tokens.c.id == id, tokens.c.revoked_at.is_(None))
    return conn.execute(query.values(revoked_at=now)).rowcount > 0
