"""`provider:model` names, and costs from genai-prices: unknown is None, never zero."""

from __future__ import annotations

from decimal import Decimal

import pytest
from genai_prices import calc_price
from pydantic_ai.usage import RequestUsage

from agentdeck.llm.calls import cost_of, input_token_bound, worst_case
from agentdeck.llm.names import SIMULATOR_REF, ModelRef, parse_model_name


@pytest.mark.parametrize(
    ("text", "provider", "name"),
    [
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("gemini:gemini-2.5-flash", "google", "gemini-2.5-flash"),
        ("google:gemini-2.5-flash", "google", "gemini-2.5-flash"),
        ("groq:llama-3.3-70b-versatile", "groq", "llama-3.3-70b-versatile"),
        ("ollama:llama3.2:3b", "ollama", "llama3.2:3b"),
        ("openrouter:anthropic/claude-3.5-sonnet", "openrouter", "anthropic/claude-3.5-sonnet"),
        ("simulator", "simulator", "simulator"),
    ],
)
def test_model_names_parse_into_provider_and_model(text: str, provider: str, name: str) -> None:
    endpoints = ("ollama", "openrouter")
    assert parse_model_name(text, endpoints) == ModelRef(provider, name)


def test_a_configured_openai_compatible_endpoint_is_a_provider() -> None:
    assert parse_model_name("lmstudio:qwen", ["lmstudio"]) == ModelRef("lmstudio", "qwen")
    with pytest.raises(ValueError, match="unknown provider 'lmstudio'"):
        parse_model_name("lmstudio:qwen", [])


@pytest.mark.parametrize("bad", ["", "gpt-4o", "openai:", "foo:bar"])
def test_bad_model_names_say_what_is_expected(bad: str) -> None:
    with pytest.raises(ValueError, match="provider"):
        parse_model_name(bad)


def test_the_simulator_has_a_short_name() -> None:
    assert SIMULATOR_REF.id == "simulator"
    assert ModelRef("openai", "gpt-4o").id == "openai:gpt-4o"


def test_cost_comes_from_genai_prices() -> None:
    usage = RequestUsage(input_tokens=1200, output_tokens=300, cache_read_tokens=200)
    expected = calc_price(usage, "gpt-4o-mini", provider_id="openai").total_price
    assert cost_of(ModelRef("openai", "gpt-4o-mini"), usage) == expected > 0


def test_an_unknown_price_is_none_and_the_simulator_is_free() -> None:
    usage = RequestUsage(input_tokens=10, output_tokens=10)
    assert cost_of(ModelRef("openai", "in-house-model"), usage) is None
    assert cost_of(ModelRef("ollama", "llama3.2"), usage) is None
    assert cost_of(SIMULATOR_REF, usage) == Decimal(0)


def test_the_worst_case_prices_every_output_token() -> None:
    ref = ModelRef("openai", "gpt-4o-mini")
    assert worst_case(ref, 1_000_000, 0) == Decimal("0.15")
    assert worst_case(ref, 0, 1_000_000) == Decimal("0.6")
    assert worst_case(ModelRef("openai", "in-house-model"), 10, 10) is None


def test_the_input_bound_is_never_below_the_bytes_of_the_text() -> None:
    assert input_token_bound(["héllo wörld"], 1) >= len("héllo wörld".encode())
