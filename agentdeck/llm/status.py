"""The LLM layer in one sentence, for `agentdeck up` and the dashboard."""

from __future__ import annotations

from agentdeck.llm.config import LLMConfig
from agentdeck.llm.providers import ModelFactory


def describe(config: LLMConfig, factory: ModelFactory) -> str:
    """One plain sentence for `agentdeck up` and the dashboard: simulator or providers."""
    keyed = factory.keyed_providers()
    mode = config.simulator_mode
    if mode == "always":
        return "LLM: the offline simulator answers every agent (AGENTDECK_SIMULATOR=always)."
    if factory.offline:
        return (
            "LLM: no provider key found, so the offline simulator answers every agent. "
            "To use real models, set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or "
            "GROQ_API_KEY (in the environment or a .env file), or add an OpenAI-compatible "
            "endpoint with AGENTDECK_OPENAI_COMPATIBLE, then restart. (A local endpoint "
            "that needs no key, such as Ollama, is used with AGENTDECK_SIMULATOR=never.)"
        )
    if not keyed:
        return (
            "LLM: no provider key found and the simulator is off (AGENTDECK_SIMULATOR="
            "never): agents can only use keyless endpoints such as a local Ollama."
        )
    return (
        f"LLM: provider keys found for {', '.join(keyed)}; each agent uses the first of "
        "its models whose provider has a key, and falls back along its list on errors."
    )
