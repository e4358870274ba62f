"""Dashboard sessions kept in the database, so that signing out revokes them everywhere.

The session cookie is signed (web/sessions.py) but a signature alone cannot be taken
back: a copied cookie would stay valid until it expires. A signed-in session therefore
also has a row here; signing out revokes the row, and every API process sharing the
database then refuses the cookie.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from agentdeck.store import dashboard_sessions as queries

if TYPE_CHECKING:
    from agentdeck.deck import Deck


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class DashboardSessions:
    """Start, check and revoke the signed-in sessions of the dashboard."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck

    async def start(self, session_id: str, lifetime: timedelta) -> None:
        """Record a session signed in now; expired ones are forgotten on the way."""
        now = self._deck.clock.now()
        id_hash = _hash(session_id)

        def write(conn: Connection) -> None:
            queries.delete_expired(conn, now)
            queries.insert_session(conn, id_hash, now, now + lifetime)

        await self._deck.db.write(write)

    async def active(self, session_id: str) -> bool:
        now = self._deck.clock.now()
        id_hash = _hash(session_id)
        return await self._deck.db.read(lambda conn: queries.is_active(conn, id_hash, now))

    async def revoke(self, session_id: str) -> None:
        now = self._deck.clock.now()
        id_hash = _hash(session_id)
        await self._deck.db.write(lambda conn: queries.revoke(conn, id_hash, now))
