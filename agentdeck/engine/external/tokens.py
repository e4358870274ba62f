"""External agents: registered by an admin, known by a token shown once and kept as a hash."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from agentdeck.clock import Clock
from agentdeck.domain.errors import AgentdeckError, Conflict, InvalidInput, NotFound
from agentdeck.domain.external_agents import ExternalAgentRow
from agentdeck.domain.ids import new_id
from agentdeck.store import external_agents as agent_queries
from agentdeck.store import tasks as task_queries
from agentdeck.store.database import Database

TOKEN_PREFIX = "adx_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
CAPABILITY_PATTERN = r"^[a-z][a-z0-9_-]{0,59}$"


class AgentUnauthorized(AgentdeckError):
    """An external agent's token is missing, unknown, revoked, or not this agent's (401/403)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def token_hash(token: str) -> str:
    """sha256 of the token: tokens are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Registered:
    """A new external agent and its token (shown this once, never stored)."""

    agent: ExternalAgentRow
    token: str


class ExternalAgents:
    """Register, authenticate, list, revoke and delete external agents."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def register(
        self, name: str, capabilities: Sequence[str], description: str | None = None
    ) -> Registered:
        _check_capabilities(capabilities)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.now()
        row: dict[str, Any] = {
            "id": new_id("xa"),
            "name": name,
            "description": description,
            "capabilities": sorted(set(capabilities)),
            "token_hash": token_hash(token),
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "last_seen_at": None,
            "revoked_at": None,
        }
        try:
            await self._db.write(lambda conn: agent_queries.insert_agent(conn, row))
        except IntegrityError:
            raise Conflict(
                f"an external agent named {name!r} exists already; pick another name, or "
                "delete the old one"
            ) from None
        return Registered(ExternalAgentRow(**row), token)

    async def authenticate(
        self, token: str | None, agent_id: str | None = None
    ) -> ExternalAgentRow:
        """The agent this token belongs to; with `agent_id`, it must be that agent."""
        if not token or not token.startswith(TOKEN_PREFIX):
            raise AgentUnauthorized(
                "send the external agent's own token: `Authorization: Bearer adx_...`"
            )
        digest = token_hash(token)
        agent = await self._db.read(lambda conn: agent_queries.find_by_token_hash(conn, digest))
        if agent is None or not hmac.compare_digest(agent.token_hash, digest):
            raise AgentUnauthorized("unknown external agent token")
        if agent.status == "revoked":
            raise AgentUnauthorized(f"external agent {agent.name!r} was revoked")
        if agent_id is not None and agent.id != agent_id:
            raise AgentUnauthorized(f"this token belongs to agent {agent.id}, not {agent_id}", 403)
        return agent

    async def get(self, agent_id: str) -> ExternalAgentRow:
        agent = await self._db.read(lambda conn: agent_queries.find_agent(conn, agent_id))
        if agent is None:
            raise NotFound(f"no external agent with id {agent_id!r}")
        return agent

    async def list(self) -> builtins.list[tuple[ExternalAgentRow, int]]:
        """Every external agent with the number of tasks it holds now."""

        def read(conn: Any) -> builtins.list[tuple[ExternalAgentRow, int]]:
            held = task_queries.count_held(conn)
            return [(a, held.get(a.id, 0)) for a in agent_queries.list_agents(conn)]

        return await self._db.read(read)

    async def capable(self, role: str) -> bool:
        capabilities = await self._db.read(agent_queries.capabilities_in_use)
        return role in capabilities

    async def delete(self, agent_id: str) -> None:
        agent = await self.get(agent_id)
        if agent.status != "revoked":
            raise Conflict(f"revoke external agent {agent_id} before deleting it")
        await self._db.write(lambda conn: agent_queries.delete_agent(conn, agent_id))


def _check_capabilities(capabilities: Sequence[str]) -> None:
    if not capabilities:
        raise InvalidInput("an external agent needs at least one capability", field="capabilities")
    for capability in capabilities:
        if not isinstance(capability, str) or not re.match(CAPABILITY_PATTERN, capability):
            raise InvalidInput(
                f"capability {capability!r}: use the role names of tasks (lower case letters, "
                "digits, `_`, `-`)",
                field="capabilities",
            )
