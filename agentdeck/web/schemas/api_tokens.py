"""The JSON shape of a scoped API token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.domain.api_tokens import ApiToken


class TokenIn(BaseModel):
    """Create a scoped token."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the token is for.")
    scopes: list[str] = Field(
        min_length=1,
        max_length=100,
        description="`read` (every GET) and/or `start:<workflow>` (POST /api/runs of it).",
        examples=[["read"], ["start:loop"]],
    )


class TokenOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            scopes=list(token.scopes),
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreatedOut(TokenOut):
    secret: str = Field(
        description="Send as `Authorization: Bearer <secret>`; shown this once, stored hashed."
    )
