"""Usage roll-ups: calls, tokens and cost of a group of model calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class UsageTotal:
    """Calls, tokens and cost of one group (a run, an agent, a day...)."""

    key: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: Decimal
    unpriced_calls: int

    @property
    def cost_known(self) -> bool:
        return self.unpriced_calls == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": f"{self.cost_usd:f}",
            "unpriced_calls": self.unpriced_calls,
        }


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One model call of a run: the step that made it, tokens and cost (None: no known price)."""

    id: int
    run_id: str
    step_key: str | None
    agent: str | None
    provider: str | None
    model: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: Decimal | None
    created_at: datetime
