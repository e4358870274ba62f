"""AgentCatalog: agents from agents.yaml and from the database, one schema for both.

Agents of the file are read-only here (edit the file); agents created through the API
are stored in the database and can be changed and deleted. The runner's directory of
agents (`directory`, a KnownAgents) and the LLM layer the runner uses are in
`agentdeck.agents.llm_layer`; usage roll-ups are in `deck/costs.py`.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from agentdeck.agents.llm_layer import KnownAgents
from agentdeck.agents.loading import SHIPPED_AGENTS, field_path, load_agents_file
from agentdeck.agents.skills import Skill, SkillLibrary
from agentdeck.agents.spec import ROLES, AgentSpec, ConfiguredAgent, configure
from agentdeck.agents.tools import ToolRegistry, default_tools
from agentdeck.clock import Clock, SystemClock
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.domain.json_values import check_value, refuse_bool_for_number
from agentdeck.llm.config import LLMConfig
from agentdeck.settings import Settings
from agentdeck.store import agents as agent_queries
from agentdeck.store.agents import AgentRow
from agentdeck.store.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkillUse:
    """A skill of the library and the agents that use it."""

    skill: Skill
    agents: list[str]


class AgentCatalog:
    """List, get, create, update and delete agents; the runner's directory of agents."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        llm: LLMConfig | None = None,
        clock: Clock | None = None,
        tools: ToolRegistry | None = None,
    ) -> None:
        """Load and check the agents file: a broken file raises AgentConfigError here."""
        self._db = db
        self._clock = clock or SystemClock()
        self.llm = llm or LLMConfig.from_settings(settings)
        self.skills = SkillLibrary.with_custom(settings.skills_dir)
        self.tools = tools or default_tools
        self.file = settings.agents_file or SHIPPED_AGENTS
        self._endpoints = list(self.llm.endpoints)
        specs = load_agents_file(
            self.file, skills=self.skills, tools=self.tools, endpoints=self._endpoints
        )
        self._file_agents = {
            s.name: configure(
                s, self.skills, source="file", endpoints=self._endpoints, path=str(self.file)
            )
            for s in specs
        }
        # the runner's directory: the file's agents, and stored ones through `_find_stored`
        self.directory = KnownAgents(self._file_agents, self._find_stored)

    # --- reading -------------------------------------------------------------

    async def list(self, role: str | None = None) -> builtins.list[ConfiguredAgent]:
        """Every agent, the file's first, then the stored ones, each group by name."""
        rows = await self._db.read(agent_queries.list_agents)
        stored = []
        for row in rows:
            if row.name in self._file_agents:
                continue  # the file's agent of that name wins
            try:
                stored.append(self._from_row(row))
            except InvalidInput as error:
                log.warning("skipping stored agent %s: %s", row.name, error)
        agents = [*sorted(self._file_agents.values(), key=lambda a: a.name), *stored]
        return [a for a in agents if role is None or a.role == role]

    async def find(self, name: str) -> ConfiguredAgent | None:
        if name in self._file_agents:
            return self._file_agents[name]
        return await self._find_stored(name)

    async def _find_stored(self, name: str) -> ConfiguredAgent | None:
        row = await self._db.read(lambda conn: agent_queries.find_agent(conn, name))
        return self._from_row(row) if row is not None else None

    async def get(self, name: str) -> ConfiguredAgent:
        agent = await self.find(name)
        if agent is None:
            raise NotFound(f"no agent {name!r}")
        return agent

    async def configured(self, name: str) -> ConfiguredAgent:
        """The runner's lookup (`directory`): file agents from memory, stored ones cached."""
        return await self.directory.configured(name)

    async def skill_uses(self) -> builtins.list[SkillUse]:
        """The skills library, each skill with the agents that use it."""
        agents = await self.list()
        return [
            SkillUse(skill, [a.name for a in agents if skill.name in a.spec.skills])
            for skill in self.skills.list()
        ]

    # --- writing -------------------------------------------------------------

    async def create(self, data: Mapping[str, Any]) -> ConfiguredAgent:
        """Store a new agent; InvalidInput names the bad field, Conflict a taken name."""
        spec = self._check(data)
        if spec.name in self._file_agents:
            raise Conflict(f"agent {spec.name!r} is defined in {self.file}; pick another name")
        now = self._clock.now()
        row = {
            "name": spec.name,
            "role": spec.role,
            "spec": spec.model_dump(mode="json"),
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self._db.write(lambda conn: agent_queries.insert_agent(conn, row))
        except IntegrityError:
            raise Conflict(f"an agent named {spec.name!r} exists already") from None
        self.directory.forget(spec.name)
        return self._configure(spec)

    async def update(self, name: str, changes: Mapping[str, Any]) -> ConfiguredAgent:
        """Change some fields of a stored agent (the name stays)."""
        current = await self.get(name)
        self._check_writable(current)
        if "name" in changes and changes["name"] != name:
            raise InvalidInput("an agent cannot be renamed; create a new one", field="name")
        spec = self._check({**current.spec.model_dump(mode="json"), **changes})
        values = {
            "role": spec.role,
            "spec": spec.model_dump(mode="json"),
            "updated_at": self._clock.now(),
        }
        if not await self._db.write(lambda conn: agent_queries.update_agent(conn, name, values)):
            raise NotFound(f"no agent {name!r}")
        self.directory.forget(name)
        return self._configure(spec)

    async def delete(self, name: str) -> None:
        self._check_writable(await self.get(name))
        if not await self._db.write(lambda conn: agent_queries.delete_agent(conn, name)):
            raise NotFound(f"no agent {name!r}")
        self.directory.forget(name)

    def _check_writable(self, agent: ConfiguredAgent) -> None:
        if agent.read_only:
            raise Conflict(
                f"agent {agent.name!r} is defined in {agent.path} and is read-only here; "
                "edit that file instead"
            )

    def _check(self, data: Mapping[str, Any]) -> AgentSpec:
        if not isinstance(data, Mapping):
            raise InvalidInput("an agent must be a JSON object", field="agent")
        check_value(dict(data), "")
        try:
            spec = AgentSpec.check(
                dict(data), endpoints=self._endpoints, skills=self.skills, tools=self.tools
            )
        except ValidationError as error:
            first = error.errors()[0]
            where = field_path(first["loc"])
            problem = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
            raise InvalidInput(
                f"{where}: {str(problem).removeprefix('Value error, ')}", field=where
            ) from None
        refuse_bool_for_number(dict(data), spec.model_dump(mode="json"), "", [])
        return spec

    def _configure(self, spec: AgentSpec) -> ConfiguredAgent:
        return configure(spec, self.skills, source="database", endpoints=self._endpoints)

    def _from_row(self, row: AgentRow) -> ConfiguredAgent:
        try:
            return self._configure(self._check(row.spec))
        except InvalidInput as error:
            raise InvalidInput(
                f"stored agent {row.name!r} is no longer valid: {error}", field=error.field
            ) from None


def agent_json(agent: ConfiguredAgent) -> dict[str, Any]:
    """An agent as JSON for the API and `agentdeck agents list --json`."""
    return {
        **agent.spec.model_dump(mode="json"),
        "source": agent.source,
        "read_only": agent.read_only,
        "path": agent.path,
    }


def check_agents_file(file: Path, settings: Settings) -> list[AgentSpec]:
    """Read and check an agents file without opening a Deck (AgentdeckError if unusable)."""
    llm = LLMConfig.from_settings(settings)
    return load_agents_file(
        file,
        skills=SkillLibrary.with_custom(settings.skills_dir),
        tools=default_tools,
        endpoints=list(llm.endpoints),
    )


__all__ = [
    "ROLES",
    "AgentCatalog",
    "AgentSpec",
    "ConfiguredAgent",
    "SkillUse",
    "agent_json",
    "check_agents_file",
]
