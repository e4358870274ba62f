"""Retry policy for steps: exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from agentdeck.domain.errors import TransientError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a step is retried after a transient error."""

    max_attempts: int = 3
    initial_interval: timedelta = timedelta(milliseconds=200)
    max_interval: timedelta = timedelta(seconds=30)
    multiplier: float = 2.0
    retry_on: tuple[type[BaseException], ...] = field(default=(TransientError,))

    def is_transient(self, error: BaseException) -> bool:
        return isinstance(error, self.retry_on)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """Delay before attempt `attempt + 1`, for `attempt` >= 1 (full jitter)."""
        cap = self.max_interval.total_seconds()
        try:
            ceiling = min(
                cap, self.initial_interval.total_seconds() * self.multiplier ** (attempt - 1)
            )
        except OverflowError:  # a float power past ~1e308: far beyond any cap
            ceiling = cap
        return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


NO_RETRY = RetryPolicy(max_attempts=1)
