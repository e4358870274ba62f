"""Agent definitions: one pydantic schema for agents from agents.yaml and from the database."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from agentdeck.agents.skills import SkillLibrary
from agentdeck.agents.tools import ToolRegistry
from agentdeck.llm.config import DEFAULT_ENDPOINTS
from agentdeck.llm.limits import RateLimit
from agentdeck.llm.names import ModelRef, parse_model_name

if TYPE_CHECKING:
    from pydantic_ai.settings import ModelSettings

# The roles the built-in workflows ask for; any other lower-case role is allowed too.
ROLES = (
    "producer",
    "evaluator",
    "reviser",
    "planner",
    "executor",
    "builder",
    "communicator",
    "reviewer",
    "coder",
    "stack-planner",
    "stack-builder",
    "stack-communicator",
    "stack-reviewer",
    "orchestrator",
    "backend",
    "frontend",
    "tester",
    "devops",
)
Source = Literal["file", "database"]


def _check_model(value: str, info: ValidationInfo) -> str:
    endpoints = (info.context or {}).get("endpoints", DEFAULT_ENDPOINTS)
    return parse_model_name(value, endpoints).id


def _check_tool(value: str, info: ValidationInfo) -> str:
    tools: ToolRegistry | None = (info.context or {}).get("tools")
    if tools is not None and value not in tools.names():
        raise ValueError(f"no tool {value!r} (known: {', '.join(tools.names()) or 'none'})")
    return value


def _check_skill(value: str, info: ValidationInfo) -> str:
    skills: SkillLibrary | None = (info.context or {}).get("skills")
    if skills is not None and skills.find(value) is None:
        raise ValueError(f"no skill {value!r} (known: {', '.join(skills.names()) or 'none'})")
    return value


ModelName = Annotated[str, AfterValidator(_check_model)]
SkillName = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"), AfterValidator(_check_skill)
]
ToolName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"), AfterValidator(_check_tool)]


def _check_mcp_allowed(value: list[McpServerSpec], info: ValidationInfo) -> list[McpServerSpec]:
    # an MCP server is a command run on this machine: only agents.yaml may name one
    if value and (info.context or {}).get("mcp") is False:
        raise ValueError("MCP servers run commands on this machine: configure them in agents.yaml")
    names = [s.name for s in value]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"duplicate MCP server name {twice[0]!r}")
    return value


class McpServerSpec(BaseModel):
    """An MCP server an agent may call tools of, started by command line over stdio."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$",
        description="Its tools are offered as `<name>_<tool>`: letters, digits, `_`.",
    )
    command: str = Field(min_length=1, max_length=1000, description="The program to start.")
    args: list[str] = Field(default_factory=list, max_length=100)
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Variables set for the server, over a minimal environment (PATH, HOME, …).",
    )
    timeout_s: float = Field(60, gt=0, le=3600, description="The most seconds one call takes.")


class AgentSpec(BaseModel):
    """What an agent is: its role, its models (first preferred), instructions, skills, limits."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="Unique name: letters, digits, `_`, `.`, `-`; up to 100 characters.",
    )
    role: str = Field(
        pattern=r"^[a-z][a-z0-9_-]{0,59}$",
        description="What the agent does in a workflow: " + ", ".join(ROLES) + ", or your own.",
    )
    description: str = Field("", max_length=2000)
    models: list[ModelName] = Field(
        default_factory=lambda: ["simulator"],
        min_length=1,
        max_length=10,
        description="`provider:model` names; the first is preferred, the rest are the fallback "
        "chain (openai, anthropic, google, groq, an OpenAI-compatible endpoint, simulator).",
    )
    instructions: str = Field("", max_length=100_000, description="The agent's system prompt.")
    skills: list[SkillName] = Field(
        default_factory=list, description="Skill files appended to the instructions."
    )
    tools: list[ToolName] = Field(default_factory=list, description="Tools the agent may call.")
    mcp_servers: Annotated[list[McpServerSpec], AfterValidator(_check_mcp_allowed)] = Field(
        default_factory=list,
        max_length=10,
        description="MCP servers (agents.yaml only) whose tools the agent may call.",
    )
    temperature: float | None = Field(None, ge=0, le=2)
    max_output_tokens: int = Field(
        2048, ge=1, le=200_000, description="The most tokens one answer may have."
    )
    budget_usd: Decimal | None = Field(
        None, ge=0, description="The most this agent may spend in one run, in USD."
    )
    max_concurrency: int | None = Field(
        None, ge=1, description="Calls of this agent in flight at once in one worker."
    )
    run_concurrency: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Runs naming this agent in their inputs that may run at once, across "
        "every worker: such runs get the concurrency key `agent:<name>` with this limit, "
        "unless the submit or the workflow gives a key of its own.",
    )
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="The most seconds one model of the chain may take for one call, its "
        "tries and backoffs together, before the next model is tried (default: the "
        "AGENTDECK_LLM_MODEL_TIMEOUT setting, 90 s).",
    )
    requests_per_minute: int | None = Field(None, ge=1, description="Calls per minute, per worker.")
    tokens_per_minute: int | None = Field(
        None, ge=1, description="Input plus output tokens per minute, per worker."
    )

    @classmethod
    def check(
        cls,
        data: Any,
        *,
        endpoints: Collection[str] | None = None,
        skills: SkillLibrary | None = None,
        tools: ToolRegistry | None = None,
        mcp: bool = False,
    ) -> AgentSpec:
        """Validate `data`; pydantic's ValidationError names every bad field.

        `mcp` allows MCP servers, which only the agents file may configure.
        """
        context = {
            "endpoints": DEFAULT_ENDPOINTS if endpoints is None else endpoints,
            "skills": skills,
            "tools": tools,
            "mcp": mcp,
        }
        return cls.model_validate(data, context=context)


@dataclass(frozen=True)
class ConfiguredAgent:
    """An agent ready to call: its spec with instructions composed and models parsed."""

    spec: AgentSpec
    source: Source
    instructions: str
    chain: tuple[ModelRef, ...]
    model_settings: ModelSettings
    rate: RateLimit
    path: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def role(self) -> str:
        return self.spec.role

    @property
    def read_only(self) -> bool:
        """Agents from agents.yaml are changed by editing the file, not through the API."""
        return self.source == "file"


def configure(
    spec: AgentSpec,
    skills: SkillLibrary,
    *,
    source: Source,
    endpoints: Collection[str] = DEFAULT_ENDPOINTS,
    path: str | None = None,
) -> ConfiguredAgent:
    """Compose the instructions (header, instructions, skills) and parse the model chain."""
    header = f'You are "{spec.name}", an agentdeck agent. role: {spec.role}'
    parts = [header]
    if spec.description:
        parts.append(spec.description)
    if spec.instructions:
        parts.append(spec.instructions)
    for name in spec.skills:
        parts.append(f"## Skill: {skills.get(name).title}\n\n{skills.get(name).content}")
    settings: dict[str, Any] = {"max_tokens": spec.max_output_tokens}
    if spec.temperature is not None:
        settings["temperature"] = spec.temperature
    return ConfiguredAgent(
        spec=spec,
        source=source,
        instructions="\n\n".join(parts),
        chain=tuple(parse_model_name(m, endpoints) for m in spec.models),
        model_settings=cast("ModelSettings", settings),
        rate=RateLimit(spec.requests_per_minute, spec.tokens_per_minute),
        path=path,
    )


def snapshot(agent: ConfiguredAgent) -> dict[str, Any]:
    """The agent as JSON for a run's journal: its spec and its composed instructions."""
    return {
        "spec": agent.spec.model_dump(mode="json"),
        "source": agent.source,
        "instructions": agent.instructions,
    }


def restore(data: dict[str, Any], endpoints: Collection[str]) -> ConfiguredAgent:
    """The agent a snapshot recorded, as it was, whatever the catalog holds now.

    Its skills are already composed into its instructions: a skill changed or removed
    since does not change it.
    """
    spec = AgentSpec.model_validate(data["spec"], context={"endpoints": endpoints})
    settings: dict[str, Any] = {"max_tokens": spec.max_output_tokens}
    if spec.temperature is not None:
        settings["temperature"] = spec.temperature
    return ConfiguredAgent(
        spec=spec,
        source=data["source"],
        instructions=data["instructions"],
        chain=tuple(parse_model_name(m, endpoints) for m in spec.models),
        model_settings=cast("ModelSettings", settings),
        rate=RateLimit(spec.requests_per_minute, spec.tokens_per_minute),
    )
