"""Agent specs, the skills library, tools, budgets, and the runner workflows call.

    from agentdeck.agents import run_agent
    reply = await run_agent(ctx, "evaluator", prompt, key="evaluate:1")

Importing this package is cheap: the runner (which needs pydantic-ai) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentdeck.agents.llm_layer import RUNNER, LLMLayer, runner_of
from agentdeck.agents.loading import AgentConfigError, load_agents_file
from agentdeck.agents.reply import AgentReply
from agentdeck.agents.skills import Skill, SkillLibrary
from agentdeck.agents.spec import ROLES, AgentSpec, ConfiguredAgent, configure
from agentdeck.agents.tools import ToolRegistry, default_tools

if TYPE_CHECKING:
    from agentdeck.agents.budget import BudgetExceeded
    from agentdeck.agents.runner import AgentRunner, run_agent

_LAZY = {
    "AgentRunner": "agentdeck.agents.runner",
    "run_agent": "agentdeck.agents.runner",
    "BudgetExceeded": "agentdeck.agents.budget",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ROLES",
    "RUNNER",
    "AgentConfigError",
    "AgentReply",
    "AgentRunner",
    "AgentSpec",
    "BudgetExceeded",
    "ConfiguredAgent",
    "LLMLayer",
    "Skill",
    "SkillLibrary",
    "ToolRegistry",
    "configure",
    "default_tools",
    "load_agents_file",
    "run_agent",
    "runner_of",
]
