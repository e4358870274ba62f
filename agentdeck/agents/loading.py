"""agents.yaml: a top-level `agents:` list, validated whole; errors name file, agent and field."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agentdeck.agents.skills import SkillLibrary
from agentdeck.agents.spec import AgentSpec
from agentdeck.agents.tools import ToolRegistry
from agentdeck.domain.errors import InvalidInput

SHIPPED_AGENTS = Path(__file__).parent / "agents.yaml"


class AgentConfigError(InvalidInput):
    """An agents file that cannot be used; the message names the file, the agent and the field."""

    def __init__(self, file: str, agent: str | None, field: str | None, problem: str) -> None:
        where = [file]
        if agent is not None:
            where.append(f"agent {agent}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join(where)}: {problem}", field=field)
        self.file = file
        self.agent = agent
        self.problem = problem


def load_agents_file(
    path: Path,
    *,
    skills: SkillLibrary,
    tools: ToolRegistry | None = None,
    endpoints: Collection[str] | None = None,
) -> list[AgentSpec]:
    """Every agent of the file, or AgentConfigError for the first problem found."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AgentConfigError(label, None, None, f"cannot read: {error.strerror}") from None
    return parse_agents(text, label, skills=skills, tools=tools, endpoints=endpoints)


def parse_agents(
    text: str,
    label: str,
    *,
    skills: SkillLibrary,
    tools: ToolRegistry | None = None,
    endpoints: Collection[str] | None = None,
) -> list[AgentSpec]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise AgentConfigError(label, None, None, f"not valid YAML: {line}{problem}") from None
    if not isinstance(document, dict) or "agents" not in document:
        raise AgentConfigError(
            label, None, "agents", "the file must have a top-level `agents:` list"
        )
    extra = sorted(set(document) - {"agents", "modes"})
    if extra:
        raise AgentConfigError(
            label, None, extra[0], "unknown top-level key (only `agents:` and `modes:`)"
        )
    if "modes" in document:
        from agentdeck.agents.modes import ModeTable  # the build modes, checked with the agents

        try:
            ModeTable.overlay(document["modes"] or {}, label)
        except InvalidInput as error:
            raise AgentConfigError(label, None, "modes", str(error)) from None
    entries = document["agents"]
    if not isinstance(entries, list):
        raise AgentConfigError(label, None, "agents", "must be a list of agent mappings")
    specs: list[AgentSpec] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        agent = _agent_label(entry, index)
        if not isinstance(entry, dict):
            raise AgentConfigError(label, agent, None, "must be a mapping of fields")
        try:
            spec = AgentSpec.check(entry, endpoints=endpoints, skills=skills, tools=tools, mcp=True)
        except ValidationError as error:
            first = error.errors()[0]
            raise AgentConfigError(
                label, agent, field_path(first["loc"]), _problem(first)
            ) from None
        if spec.name in seen:
            raise AgentConfigError(
                label, agent, "name", f"duplicate name (also agent #{seen[spec.name] + 1})"
            )
        seen[spec.name] = index
        specs.append(spec)
    return specs


def field_path(loc: tuple[int | str, ...]) -> str:
    """('models', 1) -> 'models[1]'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "agent"


def _problem(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return message.removeprefix("Value error, ")


def _agent_label(entry: object, index: int) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    if isinstance(name, str) and name.strip():
        return repr(name.strip())
    return f"#{index + 1} (no name)"
