"""The LLM layer in one sentence, for `agentdeck up` and the dashboard: what answers the
agents (the offline simulator or the providers) and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agentdeck.llm.config import LLMConfig
from agentdeck.llm.names import ModelRef
from agentdeck.llm.providers import ModelFactory

KEY_VARS = "OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or GROQ_API_KEY"


def describe(
    config: LLMConfig,
    factory: ModelFactory,
    chains: Mapping[str, Sequence[ModelRef]] | None = None,
) -> str:
    """One plain sentence: simulator or providers, and the reason for the choice.

    With `chains` (agent -> models), an agent naming a keyless endpoint such as Ollama
    while the simulator answers is said by name: the simulator is not chosen silently.
    """
    text = _choice(config, factory, chains)
    if factory.offline or config.simulator_mode == "always":
        text += " " + pace(config.simulator.latency)
    return text


def pace(latency: float) -> str:
    """How long each simulated call takes, and the setting that changes it."""
    if latency <= 0:
        return "Simulated calls answer at once (AGENTDECK_SIMULATOR_LATENCY=0)."
    return (
        f"Each simulated call takes {latency:g} s (AGENTDECK_SIMULATOR_LATENCY), so a run "
        "can be watched live."
    )


def _choice(
    config: LLMConfig,
    factory: ModelFactory,
    chains: Mapping[str, Sequence[ModelRef]] | None,
) -> str:
    keyed = factory.keyed_providers()
    mode = config.simulator_mode
    if mode == "always":
        return "LLM: the offline simulator answers every agent (AGENTDECK_SIMULATOR=always)."
    if factory.offline:
        keyless = _keyless_users(config, chains or {})
        if keyless:
            names = "; ".join(f"{p}: {', '.join(agents)}" for p, agents in keyless.items())
            return (
                "LLM: the offline simulator answers every agent, because no provider key is "
                f"set and AGENTDECK_SIMULATOR is auto. Agents name models of "
                f"{', '.join(keyless)}, which need no key ({names}): set "
                "AGENTDECK_SIMULATOR=never to call it instead, then restart."
            )
        return (
            "LLM: no provider key found, so the offline simulator answers every agent. "
            f"To use real models, set {KEY_VARS} (in the environment or a .env file), "
            "OPENROUTER_API_KEY or CEREBRAS_API_KEY, or add an OpenAI-compatible endpoint "
            "with AGENTDECK_OPENAI_COMPATIBLE, then restart. (A local endpoint that needs "
            "no key, such as Ollama, is used with AGENTDECK_SIMULATOR=never.)"
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


def _keyless_users(
    config: LLMConfig, chains: Mapping[str, Sequence[ModelRef]]
) -> dict[str, list[str]]:
    """Keyless endpoint -> the agents that name one of its models."""
    keyless = {n for n, e in config.endpoints.items() if e.api_key_env is None}
    out: dict[str, list[str]] = {}
    for agent, chain in chains.items():
        for ref in chain:
            if ref.provider in keyless and agent not in out.setdefault(ref.provider, []):
                out[ref.provider].append(agent)
    return {p: a for p, a in out.items() if a}
