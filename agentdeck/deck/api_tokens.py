"""Scoped API tokens: create (the secret is returned once), check, list and revoke.

Only the sha256 of a secret is stored, so a copy of the database gives no usable token.
`last_used_at` is written at most once a minute per token: a busy client must not turn
every read into a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from agentdeck.domain.api_tokens import ApiToken, hash_secret, new_secret, parse_scopes
from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.domain.ids import new_id
from agentdeck.store import api_tokens as queries

if TYPE_CHECKING:
    from agentdeck.deck import Deck

USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown once; only its hash is kept


class ApiTokens:
    """The scoped tokens of this deck (the admin token is AGENTDECK_TOKEN, not here)."""

    def __init__(self, deck: Deck) -> None:
        self._deck = deck

    async def create(self, name: str, scopes: list[str] | str) -> CreatedToken:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("a token needs a name of 1 to 200 characters", "name")
        parsed = parse_scopes(scopes)
        secret = new_secret()
        now = self._deck.clock.now()
        token_id = new_id("tok")

        def write(conn: Connection) -> ApiToken:
            return queries.insert_token(conn, token_id, name, hash_secret(secret), parsed, now)

        return CreatedToken(await self._deck.db.write(write), secret)

    async def check(self, secret: str) -> ApiToken | None:
        """The active token with this secret (its use recorded), or None."""
        found = await self._deck.db.read(
            lambda conn: queries.active_by_hash(conn, hash_secret(secret))
        )
        if found is None:
            return None
        now = self._deck.clock.now()
        if found.last_used_at is None or now - found.last_used_at >= USED_EVERY:
            await self._deck.db.write(lambda conn: queries.mark_used(conn, found.id, now))
        return found

    async def list(self) -> list[ApiToken]:
        return await self._deck.db.read(queries.list_tokens)

    async def revoke(self, token_id: str) -> ApiToken:
        now = self._deck.clock.now()

        def write(conn: Connection) -> ApiToken | None:
            queries.revoke(conn, token_id, now)
            return queries.get_token(conn, token_id)

        token = await self._deck.db.write(write)
        if token is None:
            raise NotFound(f"no API token {token_id!r}")
        return token
