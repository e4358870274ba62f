"""The LLM layer's configuration, read from Settings and checked once (no pydantic-ai import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from agentdeck.domain.errors import InvalidInput
from agentdeck.llm.limits import RateLimit
from agentdeck.settings import Settings

SimulatorMode = Literal["auto", "always", "never"]


@dataclass(frozen=True)
class SimulatorConfig:
    """Latency of each call in seconds, share of calls failing with a transient 503, RNG seed."""

    latency: float = 0.0
    failure_rate: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible API: its base URL and the variable its key is read from, if any."""

    base_url: str
    api_key_env: str | None = None


# Known OpenAI-compatible services; AGENTDECK_OPENAI_COMPATIBLE adds to or overrides them.
DEFAULT_ENDPOINTS: dict[str, Endpoint] = {
    "ollama": Endpoint("http://127.0.0.1:11434/v1"),
    "vllm": Endpoint("http://127.0.0.1:8000/v1", "VLLM_API_KEY"),
    "openrouter": Endpoint("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "cerebras": Endpoint("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
}


@dataclass(frozen=True)
class LLMConfig:
    """Providers, timeouts, retries, limits and the simulator, as the LLM layer uses them."""

    endpoints: Mapping[str, Endpoint] = field(default_factory=lambda: dict(DEFAULT_ENDPOINTS))
    base_urls: Mapping[str, str] = field(default_factory=dict)
    provider_limits: Mapping[str, RateLimit] = field(default_factory=dict)
    simulator_mode: SimulatorMode = "auto"
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    request_timeout: timedelta = timedelta(seconds=120)
    model_timeout: timedelta = timedelta(seconds=90)
    retries: int = 2
    retry_interval: timedelta = timedelta(milliseconds=500)
    retry_max_interval: timedelta = timedelta(seconds=20)
    env_file: Path | None = Path(".env")
    looping_after: int = 3  # the same answer this many times in a row: the agent loops

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig:
        endpoints = dict(DEFAULT_ENDPOINTS)
        for name, raw in settings.openai_compatible.items():
            base_url = raw.get("base_url")
            if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
                raise InvalidInput(
                    f"openai_compatible.{name}.base_url must be an http(s) URL",
                    field=f"openai_compatible.{name}.base_url",
                )
            endpoints[name.lower()] = Endpoint(base_url, raw.get("api_key_env") or None)
        limits = {}
        for name, raw_limit in settings.provider_limits.items():
            unknown = set(raw_limit) - {"requests_per_minute", "tokens_per_minute"}
            if unknown:
                raise InvalidInput(
                    f"provider_limits.{name}: unknown {', '.join(sorted(unknown))} "
                    "(use requests_per_minute, tokens_per_minute)",
                    field=f"provider_limits.{name}",
                )
            limits[name.lower()] = RateLimit(
                raw_limit.get("requests_per_minute"), raw_limit.get("tokens_per_minute")
            )
        env_file = settings.model_config.get("env_file")
        return cls(
            endpoints=endpoints,
            base_urls={k.lower(): v for k, v in settings.provider_base_urls.items()},
            provider_limits=limits,
            simulator_mode=settings.simulator,
            simulator=SimulatorConfig(
                settings.simulator_latency.total_seconds(),
                settings.simulator_failure_rate,
                settings.simulator_seed,
            ),
            request_timeout=settings.llm_request_timeout,
            model_timeout=settings.llm_model_timeout,
            retries=settings.llm_retries,
            retry_interval=settings.llm_retry_interval,
            retry_max_interval=settings.llm_retry_max_interval,
            env_file=Path(env_file) if isinstance(env_file, str | Path) else None,
            looping_after=settings.looping_after,
        )
