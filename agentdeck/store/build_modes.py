"""Queries on the dashboard's build mode overrides."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from agentdeck.store.schema import build_modes


def list_overrides(conn: Connection) -> list[tuple[str, str, str, list[str]]]:
    """(mode, role, kind, models) of every override, in a stable order."""
    rows = conn.execute(
        select(build_modes).order_by(build_modes.c.mode, build_modes.c.role, build_modes.c.kind)
    )
    return [(r.mode, r.role, r.kind, list(r.models)) for r in rows]


def set_override(
    conn: Connection, mode: str, role: str, kind: str, models: list[str], now: datetime
) -> None:
    """Replace the chain of (mode, role, kind): delete then insert, the same on both databases."""
    clear_override(conn, mode, role, kind)
    conn.execute(
        build_modes.insert(),
        [{"mode": mode, "role": role, "kind": kind, "models": models, "updated_at": now}],
    )


def clear_override(conn: Connection, mode: str, role: str, kind: str) -> bool:
    done = conn.execute(
        delete(build_modes).where(
            (build_modes.c.mode == mode)
            & (build_modes.c.role == role)
            & (build_modes.c.kind == kind)
        )
    )
    return done.rowcount > 0
