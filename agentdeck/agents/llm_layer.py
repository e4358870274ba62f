"""LLMLayer: the models, limits and simulator of a Deck, and the runner built on them.

Loading pydantic-ai takes seconds, so the runner is built on first use (or by `warm()`
in a process that will run agents, before it serves). The Deck hands the runner to its
runs in their services (`provide`); a workflow asks `runner_of(ctx)`. Two Decks in one
process each hand their own runner to their own runs: there is no module-level runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.agents.tools import ToolRegistry, default_tools
from agentdeck.engine.services import ServiceKey, Services
from agentdeck.llm.config import LLMConfig
from agentdeck.llm.keys import KeyRing
from agentdeck.llm.providers import ModelFactory
from agentdeck.llm.status import describe

if TYPE_CHECKING:
    from agentdeck.agents.runner import AgentDirectory, AgentRunner
    from agentdeck.engine.context import RunContext

RUNNER: ServiceKey[AgentRunner] = ServiceKey("agent runner")


def runner_of(ctx: RunContext) -> AgentRunner:
    """The runner of the Deck that runs `ctx`'s run."""
    return ctx.services.get(RUNNER)


class LLMLayer:
    """The model factory and the agent runner of one Deck."""

    def __init__(
        self,
        config: LLMConfig,
        directory: AgentDirectory,
        *,
        tools: ToolRegistry | None = None,
        keys: KeyRing | None = None,
    ) -> None:
        self.config = config
        self.factory = ModelFactory(config, keys)
        self._directory = directory
        self._tools = tools or default_tools
        self._runner: AgentRunner | None = None

    @property
    def runner(self) -> AgentRunner:
        """The runner workflows call; built (loading pydantic-ai, seconds) on first use."""
        if self._runner is None:
            from agentdeck.agents.runner import AgentRunner

            self.factory.prepare()
            self._runner = AgentRunner(self._directory, self.factory, tools=self._tools)
        return self._runner

    def provide(self, services: Services) -> None:
        """Hand this layer's runner (built when first asked for) to the runs of `services`."""
        services.provide(RUNNER, lambda: self.runner)

    def warm(self) -> None:
        """Load the LLM layer now (a process that will run agents calls this before serving)."""
        _ = self.runner

    @property
    def offline(self) -> bool:
        """True when the offline simulator answers the agents (no provider key, or forced)."""
        return self.factory.offline

    def status(self) -> str:
        """One plain sentence: the simulator, or which providers have keys."""
        return describe(self.config, self.factory)

    async def aclose(self) -> None:
        await self.factory.aclose()
