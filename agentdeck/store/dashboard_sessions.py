"""Queries on signed-in dashboard sessions: start, is active, revoke, forget the expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from agentdeck.store.schema import dashboard_sessions as sessions


def insert_session(conn: Connection, id_hash: str, now: datetime, expires_at: datetime) -> None:
    conn.execute(
        sessions.insert(), [{"id_hash": id_hash, "created_at": now, "expires_at": expires_at}]
    )


def is_active(conn: Connection, id_hash: str, now: datetime) -> bool:
    query = select(sessions.c.id_hash).where(
        sessions.c.id_hash == id_hash,
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > now,
    )
    return conn.execute(query).first() is not None


def revoke(conn: Connection, id_hash: str, now: datetime) -> None:
    query = update(sessions).where(sessions.c.id_hash == id_hash, sessions.c.revoked_at.is_(None))
    conn.execute(query.values(revoked_at=now))


def delete_expired(conn: Connection, now: datetime) -> int:
    """Rows past their expiry (revoked or not) say nothing any more."""
    return conn.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount
