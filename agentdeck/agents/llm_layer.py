"""LLMLayer: the models, limits and simulator of a Deck, and the runner built on them.

Loading pydantic-ai takes seconds, so the runner is built on first use (or by `warm()`
in a process that will run agents, before it serves). The Deck hands the runner to its
runs in their services (`provide`); a workflow asks `runner_of(ctx)`. Two Decks in one
process each hand their own runner to their own runs: there is no module-level runner.
The runner finds agents in a `KnownAgents`, here beside it, so a call to an agent of the
file never goes up into the Deck.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from agentdeck.agents.spec import ConfiguredAgent
from agentdeck.agents.tools import ToolRegistry, default_tools
from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.engine.context import ServiceKey, Services
from agentdeck.llm.check import ProviderCheck, check_providers
from agentdeck.llm.config import LLMConfig
from agentdeck.llm.keys import KeyRing
from agentdeck.llm.names import ModelRef, parse_model_name
from agentdeck.llm.providers import ModelFactory
from agentdeck.llm.status import describe

if TYPE_CHECKING:
    from agentdeck.agents.runner import AgentDirectory, AgentRunner
    from agentdeck.engine.context import RunContext

RUNNER: ServiceKey[AgentRunner] = ServiceKey("agent runner")
# How long a worker trusts its copy of a stored agent: an edit made by another process
# reaches this one's next calls within this time (edits in this process at once).
CACHE_SECONDS = 2.0


def runner_of(ctx: RunContext) -> AgentRunner:
    """The runner of the Deck that runs `ctx`'s run."""
    return ctx.services.get(RUNNER)


class KnownAgents:
    """The runner's directory of agents: the file's in memory, stored ones cached briefly.

    `find_stored` looks an agent up in the database (the Deck's catalog provides it).
    """

    def __init__(
        self,
        file_agents: Mapping[str, ConfiguredAgent],
        find_stored: Callable[[str], Awaitable[ConfiguredAgent | None]],
    ) -> None:
        self._file_agents = file_agents
        self._find_stored = find_stored
        self._cache: dict[str, tuple[float, ConfiguredAgent | None]] = {}

    async def configured(self, name: str) -> ConfiguredAgent:
        """The agent named `name`; NotFound when there is none."""
        agent = self._file_agents.get(name)
        if agent is not None:
            return agent
        cached = self._cache.get(name)
        now = time.monotonic()
        if cached is None or cached[0] < now:
            found = await self._find_stored(name)
            cached = self._cache[name] = (now + CACHE_SECONDS, found)
        if cached[1] is None:
            raise NotFound(f"no agent {name!r}")
        return cached[1]

    def forget(self, name: str) -> None:
        """Drop the copy of a stored agent this process has just changed."""
        self._cache.pop(name, None)


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
        self._chains: dict[str, tuple[ModelRef, ...]] = {}

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

    def status(self, agents: Iterable[ConfiguredAgent] | None = None) -> str:
        """One plain sentence: the simulator, or which providers have keys, and why; with
        `agents`, those naming a keyless endpoint (Ollama) the simulator stands in for.

        Without `agents`, the ones of the last call that named them (`agentdeck up` does
        at start), so the dashboard's banner says what the terminal said.
        """
        if agents is not None:
            self._chains = {a.name: a.chain for a in agents}
        return describe(self.config, self.factory, self._chains)

    async def check_providers(
        self, agents: Iterable[ConfiguredAgent], *, seconds: float, models: Sequence[str] = ()
    ) -> list[ProviderCheck]:
        """One tiny call per configured provider (or to each of `models`), no retries.

        A bad model name in `models` raises InvalidInput naming it.
        """
        refs = []
        for name in models:
            try:
                refs.append(parse_model_name(name, list(self.config.endpoints)))
            except ValueError as error:
                raise InvalidInput(str(error), field="model") from None
        self.factory.prepare()
        chains = {a.name: a.chain for a in agents}
        return await check_providers(self.factory, chains, seconds=seconds, only=refs)

    def key_warnings(self, agents: Iterable[ConfiguredAgent]) -> list[str]:
        """At start, one line per agent with models whose provider has no key (nothing when
        the simulator answers every agent); the runner does not warn about them again."""
        if self.factory.offline:
            return []
        found = (self.factory.keyed_chain(a.name, a.chain)[1] for a in agents)
        return [w for w in found if w is not None]

    async def aclose(self) -> None:
        await self.factory.aclose()
