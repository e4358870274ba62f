"""The JSON shape of an agent."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agentdeck.deck.agents import ConfiguredAgent

# --- agents, workflows, workers, health --------------------------------------------


class McpServerOut(BaseModel):
    """An MCP server of an agent of agents.yaml; its environment is not shown (it may hold keys)."""

    name: str
    command: str
    args: list[str]


class AgentOut(BaseModel):
    """An agent's definition, where it comes from, and whether the API may change it."""

    name: str
    role: str
    description: str
    models: list[str]
    instructions: str
    skills: list[str]
    tools: list[str]
    temperature: float | None
    max_output_tokens: int
    budget_usd: str | None
    max_concurrency: int | None
    run_concurrency: int | None = None
    requests_per_minute: int | None
    tokens_per_minute: int | None
    timeout_s: float | None = Field(
        None, description="Seconds one model may take, tries included, before the next."
    )
    mcp_servers: list[McpServerOut] = Field(
        default_factory=list, description="MCP servers whose tools it may call (agents.yaml only)."
    )
    source: Literal["file", "database"]
    read_only: bool = Field(description="Defined in agents.yaml: edit the file, not the API.")
    path: str | None = Field(description="The file that defines it, for read-only agents.")

    @classmethod
    def of(cls, agent: ConfiguredAgent) -> AgentOut:
        spec = agent.spec.model_dump(mode="json")
        budget = spec.pop("budget_usd")
        servers = spec.pop("mcp_servers")
        return cls(
            **spec,
            mcp_servers=[
                McpServerOut(**{k: s[k] for k in ("name", "command", "args")}) for s in servers
            ],
            budget_usd=None if budget is None else str(budget),
            source=agent.source,
            read_only=agent.read_only,
            path=agent.path,
        )
