"""Model names: `provider:model` parsed into a ModelRef, with the providers agentdeck knows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

SIMULATOR = "simulator"
# Providers with a pydantic-ai model of their own; OpenAI-compatible endpoints come from settings.
NATIVE_PROVIDERS = ("openai", "anthropic", "google", "groq")
ALIASES = {"gemini": "google", "google-gla": "google", "openai-chat": "openai"}


@dataclass(frozen=True, slots=True)
class ModelRef:
    """One model of one provider, e.g. `anthropic:claude-sonnet-4-5`."""

    provider: str
    name: str

    @property
    def id(self) -> str:
        if self.provider == SIMULATOR and self.name == SIMULATOR:
            return SIMULATOR
        return f"{self.provider}:{self.name}"

    @property
    def is_simulator(self) -> bool:
        return self.provider == SIMULATOR

    def __str__(self) -> str:
        return self.id


SIMULATOR_REF = ModelRef(SIMULATOR, SIMULATOR)


def parse_model_name(text: str, endpoints: Collection[str] = ()) -> ModelRef:
    """`provider:model` -> ModelRef; ValueError says what is wrong and what is known.

    The model part may itself hold colons (`ollama:llama3.2:3b`); `simulator` needs no model.
    `endpoints` are the names of the OpenAI-compatible endpoints configured in settings.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a model name must be a non-empty `provider:model` string")
    text = text.strip()
    if text == SIMULATOR:
        return SIMULATOR_REF
    provider, sep, name = text.partition(":")
    provider = ALIASES.get(provider.lower(), provider.lower())
    if provider == SIMULATOR:
        return ModelRef(SIMULATOR, name or SIMULATOR)
    known = (*NATIVE_PROVIDERS, *sorted(endpoints), SIMULATOR)
    if not sep or not name:
        raise ValueError(
            f"{text!r} is not `provider:model` (e.g. `openai:gpt-4o-mini`); "
            f"providers: {', '.join(known)}"
        )
    if provider not in NATIVE_PROVIDERS and provider not in endpoints:
        raise ValueError(
            f"unknown provider {provider!r} in {text!r}; known: {', '.join(known)} "
            "(add an OpenAI-compatible endpoint with AGENTDECK_OPENAI_COMPATIBLE)"
        )
    return ModelRef(provider, name)
