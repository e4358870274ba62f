"""Models by name: a ModelRef becomes a pydantic-ai Model with its provider's client.

Clients are built with the SDK's own retries off (`max_retries=0`): the fallback chain
owns retrying, so one transient error is one attempt, one event and one backoff.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentdeck.domain.errors import AgentdeckError
from agentdeck.llm.config import LLMConfig
from agentdeck.llm.keys import PROVIDER_KEY_VARS, KeyRing
from agentdeck.llm.names import NATIVE_PROVIDERS, ModelRef

if TYPE_CHECKING:
    from pydantic_ai.models import Model
    from pydantic_ai.providers import Provider

    from agentdeck.llm.simulator import SimulatorModel

_MODEL_MODULES = {
    "openai": "pydantic_ai.models.openai",
    "anthropic": "pydantic_ai.models.anthropic",
    "groq": "pydantic_ai.models.groq",
    "google": "pydantic_ai.models.google",
}


class MissingKey(AgentdeckError):
    """A model was asked for whose provider has no API key configured (a permanent error)."""


class ModelFactory:
    """Builds and caches one Model per (provider, model) and one simulator per role."""

    def __init__(self, config: LLMConfig, keys: KeyRing | None = None) -> None:
        self.config = config
        self.keys = keys or KeyRing(config.env_file)
        self._models: dict[tuple[str, str], Model] = {}
        self._simulators: dict[str | None, SimulatorModel] = {}
        self._providers: dict[str, Provider[Any]] = {}
        self._clients: list[Any] = []
        self._warned: set[tuple[str, tuple[ModelRef, ...]]] = set()

    def prepare(self) -> None:
        """Load pydantic-ai, the price table and the SDKs of the keyed providers (seconds).

        Done once, before the first call, so that it does not stall the event loop then.
        """
        from genai_prices.data_snapshot import get_snapshot

        get_snapshot()
        importlib.import_module("agentdeck.llm.simulator")
        for provider in self.keyed_providers():
            importlib.import_module(_MODEL_MODULES.get(provider, _MODEL_MODULES["openai"]))

    # --- what is configured ---------------------------------------------------

    def has_key(self, provider: str) -> bool:
        """True when the provider can be called: a key is set, or its endpoint needs none."""
        if provider in NATIVE_PROVIDERS:
            return self.keys.key_for(provider) is not None
        endpoint = self.config.endpoints.get(provider)
        if endpoint is None:
            return False
        return endpoint.api_key_env is None or self.keys.get(endpoint.api_key_env) is not None

    def split_by_key(
        self, chain: Sequence[ModelRef]
    ) -> tuple[tuple[ModelRef, ...], tuple[ModelRef, ...]]:
        """The models of `chain` that can be called (the simulator always can), and the rest."""
        usable = tuple(r for r in chain if r.is_simulator or self.has_key(r.provider))
        return usable, tuple(r for r in chain if r not in usable)

    def keyed_chain(
        self, agent: str, chain: tuple[ModelRef, ...]
    ) -> tuple[tuple[ModelRef, ...], str | None]:
        """The callable models of an agent's chain, and the first time only for this agent
        and chain, the warning naming the models left out (None after, or if none is)."""
        usable, skipped = self.split_by_key(chain)
        if not skipped or (agent, chain) in self._warned:
            return usable, None
        self._warned.add((agent, chain))
        what = ", ".join(f"{r.id} (set {self.missing_key_of(r.provider)})" for r in skipped)
        if not usable:
            return usable, f"agent {agent}: no model has an API key: {what}"
        return usable, f"agent {agent}: skipping models whose provider has no API key: {what}"

    def missing_key_of(self, provider: str) -> str:
        """The variable(s) to set for `provider`'s key, e.g. `GOOGLE_API_KEY or GEMINI_API_KEY`."""
        if provider in NATIVE_PROVIDERS:
            return " or ".join(PROVIDER_KEY_VARS[provider])
        endpoint = self.config.endpoints.get(provider)
        if endpoint is None:
            return f"AGENTDECK_OPENAI_COMPATIBLE for {provider}"
        return endpoint.api_key_env or "nothing (it needs no key)"

    def keyed_providers(self) -> list[str]:
        """Providers with an API key set (endpoints that need no key do not count)."""
        native = [p for p in NATIVE_PROVIDERS if self.keys.key_for(p)]
        endpoints = [
            name
            for name, e in sorted(self.config.endpoints.items())
            if e.api_key_env and self.keys.get(e.api_key_env)
        ]
        return native + endpoints

    @property
    def offline(self) -> bool:
        """True when every agent is answered by the simulator."""
        mode = self.config.simulator_mode
        return mode == "always" or (mode == "auto" and not self.keyed_providers())

    def base_url(self, ref: ModelRef) -> str | None:
        if ref.provider in self.config.endpoints:
            return self.config.endpoints[ref.provider].base_url
        return self.config.base_urls.get(ref.provider)

    # --- building models ---------------------------------------------------

    def simulator(self, role: str | None) -> SimulatorModel:
        from agentdeck.llm.simulator import SimulatorModel

        model = self._simulators.get(role)
        if model is None:
            model = self._simulators[role] = SimulatorModel(role, self.config.simulator)
        return model

    def model(self, ref: ModelRef, role: str | None = None) -> Model:
        """The model for `ref`; MissingKey when its provider has no key configured."""
        if ref.is_simulator:
            return self.simulator(role)
        model = self._models.get((ref.provider, ref.name))
        if model is None:
            model = self._models[(ref.provider, ref.name)] = self._build(ref)
        return model

    def _key(self, ref: ModelRef) -> str:
        if ref.provider in NATIVE_PROVIDERS:
            key = self.keys.key_for(ref.provider)
            if key is None:
                names = " or ".join(PROVIDER_KEY_VARS[ref.provider])
                raise MissingKey(f"no API key for {ref.provider}: set {names}")
            return key
        endpoint = self.config.endpoints[ref.provider]
        if endpoint.api_key_env is None:
            return "unused"  # local servers (Ollama, vLLM) take any key
        key = self.keys.get(endpoint.api_key_env)
        if key is None:
            raise MissingKey(f"no API key for {ref.provider}: set {endpoint.api_key_env}")
        return key

    def _build(self, ref: ModelRef) -> Model:
        """A model on its provider's shared client (one connection pool per provider)."""
        provider = self._providers.get(ref.provider)
        if provider is None:
            provider = self._providers[ref.provider] = self._provider(ref)
        if ref.provider == "anthropic":
            from pydantic_ai.models.anthropic import AnthropicModel

            return AnthropicModel(ref.name, provider=provider)
        if ref.provider == "groq":
            from pydantic_ai.models.groq import GroqModel

            return GroqModel(ref.name, provider=provider)
        if ref.provider == "google":
            from pydantic_ai.models.google import GoogleModel

            return GoogleModel(ref.name, provider=provider)
        from pydantic_ai.models.openai import OpenAIChatModel

        # OpenAI itself and every OpenAI-compatible endpoint: the chat-completions API
        return OpenAIChatModel(ref.name, provider=provider)

    def _provider(self, ref: ModelRef) -> Provider[Any]:
        key = self._key(ref)
        base_url = self.base_url(ref)
        if ref.provider == "anthropic":
            from anthropic import AsyncAnthropic
            from pydantic_ai.providers.anthropic import AnthropicProvider

            anthropic_client = AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0)
            self._clients.append(anthropic_client)
            return AnthropicProvider(anthropic_client=anthropic_client)
        if ref.provider == "groq":
            from groq import AsyncGroq
            from pydantic_ai.providers.groq import GroqProvider

            groq_client = AsyncGroq(api_key=key, base_url=base_url, max_retries=0)
            self._clients.append(groq_client)
            return GroqProvider(groq_client=groq_client)
        if ref.provider == "google":
            from pydantic_ai.providers.google import GoogleProvider

            return GoogleProvider(api_key=key, base_url=base_url)
        if ref.provider == "openai" or ref.provider in self.config.endpoints:
            from openai import AsyncOpenAI
            from pydantic_ai.providers.openai import OpenAIProvider
            from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

            openai_client = AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0)
            self._clients.append(openai_client)
            if ref.provider == "openai":
                return OpenAIProvider(openai_client=openai_client)
            return OpenAICompatibleProvider(ref.provider, openai_client=openai_client)
        raise MissingKey(f"no provider {ref.provider!r} is configured")

    async def aclose(self) -> None:
        """Close the HTTP clients of the models built so far."""
        for client in self._clients:
            await client.close()
        self._clients.clear()
        self._models.clear()
        self._providers.clear()
