"""`agentdeck providers check`: one tiny call per configured provider, and what came of it.

A provider counts as configured when its key is set, or when it is an endpoint that
needs no key (such as Ollama) and some agent names one of its models. Each is asked,
once and without retries, to answer "OK" in a few tokens, with the model an agent names
for it (the first found) or a small default; the answer, the latency or the failure
(redacted, like every error of the LLM layer) is reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from agentdeck.llm.errors import describe
from agentdeck.llm.names import ModelRef
from agentdeck.llm.providers import ModelFactory

# A small, cheap model of each provider, used when no agent names one of its models.
CHECK_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "google": "gemini-2.5-flash",
    "groq": "llama-3.1-8b-instant",
    "openrouter": "openai/gpt-4o-mini",
    "cerebras": "llama3.1-8b",
    "ollama": "llama3.2",
}
PROMPT = "Reply with the single word OK."
MAX_TOKENS = 5


@dataclass(frozen=True, slots=True)
class ProviderCheck:
    """How one provider answered the check."""

    provider: str
    model: str
    base_url: str | None
    ok: bool
    latency_ms: float
    answer: str | None = None
    error: str | None = None
    named_by: tuple[str, ...] = ()  # the agents that name this provider's models

    def json(self) -> dict[str, Any]:
        return asdict(self)


def providers_to_check(
    factory: ModelFactory, chains: Mapping[str, Sequence[ModelRef]]
) -> dict[str, tuple[ModelRef, tuple[str, ...]]]:
    """Provider -> (the model to call, the agents naming it) for every configured provider.

    `chains` maps each agent's name to its models.
    """
    named: dict[str, list[str]] = {}
    first: dict[str, ModelRef] = {}
    for agent, chain in chains.items():
        for ref in chain:
            if ref.is_simulator:
                continue
            first.setdefault(ref.provider, ref)
            if agent not in named.setdefault(ref.provider, []):
                named[ref.provider].append(agent)
    keyless = [
        name
        for name, endpoint in factory.config.endpoints.items()
        if endpoint.api_key_env is None and name in named
    ]
    out: dict[str, tuple[ModelRef, tuple[str, ...]]] = {}
    for provider in [*factory.keyed_providers(), *sorted(keyless)]:
        ref = first.get(provider) or ModelRef(provider, CHECK_MODELS.get(provider, "default"))
        out[provider] = (ref, tuple(named.get(provider, ())))
    return out


async def check_one(
    factory: ModelFactory, ref: ModelRef, seconds: float, named_by: tuple[str, ...] = ()
) -> ProviderCheck:
    """One request to `ref`, no retry, at most `seconds`."""
    from pydantic_ai.messages import ModelRequest, TextPart, UserPromptPart
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.settings import ModelSettings

    started = time.perf_counter()
    base_url = factory.base_url(ref)  # None: the provider's own public API
    settings = cast("ModelSettings", {"max_tokens": MAX_TOKENS, "temperature": 0})
    try:
        model = factory.model(ref)
        async with asyncio.timeout(seconds):
            response = await model.request(
                [ModelRequest(parts=[UserPromptPart(PROMPT)])],
                settings,
                ModelRequestParameters(),
            )
    except Exception as error:
        failure = describe(error, factory.keys.redactor)
        return ProviderCheck(
            ref.provider,
            ref.name,
            base_url,
            ok=False,
            latency_ms=_since(started),
            error=failure.summary(),
            named_by=named_by,
        )
    answer = "".join(p.content for p in response.parts if isinstance(p, TextPart))
    return ProviderCheck(
        ref.provider,
        ref.name,
        base_url,
        ok=True,
        latency_ms=_since(started),
        answer=factory.keys.redactor.redact(answer.strip())[:200],
        named_by=named_by,
    )


async def check_providers(
    factory: ModelFactory,
    chains: Mapping[str, Sequence[ModelRef]],
    *,
    seconds: float,
    only: Iterable[ModelRef] = (),
) -> list[ProviderCheck]:
    """Check every configured provider at once (or only the models of `only`)."""
    wanted = list(only)
    targets: list[tuple[ModelRef, tuple[str, ...]]]
    if wanted:
        targets = [(ref, ()) for ref in wanted]
    else:
        targets = list(providers_to_check(factory, chains).values())
    return list(
        await asyncio.gather(*(check_one(factory, ref, seconds, by) for ref, by in targets))
    )


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
