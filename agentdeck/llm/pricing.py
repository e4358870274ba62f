"""Cost of model calls from genai-prices: None when no price is known, never a silent zero."""

from __future__ import annotations

import functools
from decimal import Decimal

from genai_prices import calc_price
from genai_prices.types import AbstractUsage
from pydantic_ai.usage import RequestUsage

from agentdeck.llm.names import ModelRef

ZERO = Decimal(0)


def cost_of(ref: ModelRef, usage: AbstractUsage, base_url: str | None = None) -> Decimal | None:
    """The price of one call in USD; the simulator is free, an unpriced model is None."""
    if ref.is_simulator:
        return ZERO
    try:
        return calc_price(usage, ref.name, provider_id=ref.provider).total_price
    except LookupError:
        pass
    if base_url:
        try:
            return calc_price(usage, ref.name, provider_api_url=base_url).total_price
        except LookupError:
            pass
    return None


@functools.lru_cache(maxsize=4096)
def worst_case(ref: ModelRef, input_tokens: int, output_tokens: int) -> Decimal | None:
    """The most a call of this size can cost: all input uncached, every output token used."""
    usage = RequestUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    return cost_of(ref, usage)


def input_token_bound(texts: list[str], messages: int) -> int:
    """An upper bound on a prompt's input tokens.

    A BPE token never covers less than one byte, so bytes bound the tokens of the text;
    each message adds a few framing tokens. Budgets reserve this bound, so a call can
    never cost more than was reserved for it.
    """
    return sum(len(t.encode()) for t in texts) + 8 * messages + 16
