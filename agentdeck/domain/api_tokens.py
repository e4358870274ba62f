"""Scoped API tokens: what a token other than the admin's may do.

A scope is `read` (every GET of the API) or `start:<workflow>` (POST /api/runs of that
workflow only). A token holds one or more scopes; the secret itself is never stored,
only its sha256, and it is shown once, when the token is created.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from agentdeck.domain.errors import InvalidInput

READ = "read"
START = "start:"
PREFIX = "adt_"  # tells a scoped token from the admin's at a glance (and in logs)
SECRET_BYTES = 32
_WORKFLOW = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(raw: list[str] | str) -> tuple[str, ...]:
    """Scopes from a list or a space/comma separated string; InvalidInput naming the bad one."""
    items = raw.replace(",", " ").split() if isinstance(raw, str) else raw
    scopes: list[str] = []
    for item in items:
        scope = item.strip()
        if scope == READ or (scope.startswith(START) and _WORKFLOW.match(scope[len(START) :])):
            if scope not in scopes:
                scopes.append(scope)
            continue
        raise InvalidInput(
            f"unknown scope {scope!r}: a scope is `read` or `start:<workflow>`", "scopes"
        )
    if not scopes:
        raise InvalidInput(
            "a token needs at least one scope: `read` or `start:<workflow>`", "scopes"
        )
    return tuple(scopes)


@dataclass(frozen=True)
class ApiToken:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def can_read(self) -> bool:
        return READ in self.scopes

    def can_start(self, workflow: str) -> bool:
        return START + workflow in self.scopes

    @property
    def workflows(self) -> tuple[str, ...]:
        return tuple(s[len(START) :] for s in self.scopes if s.startswith(START))
