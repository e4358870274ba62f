"""An external agent: a remote program that polls the API for tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ExternalAgentRow:
    """A registered external agent (its token is stored only as a hash)."""

    id: str
    name: str
    description: str | None
    capabilities: list[str]
    token_hash: str
    status: str
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
