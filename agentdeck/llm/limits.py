"""In-process limits: per-agent concurrency, requests/minute and tokens/minute buckets.

A call that must wait sleeps on its own bucket only: other agents and other providers
go on. Waiters of one bucket are served first come, first served.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass


class RateLimiter:
    """A token bucket refilled continuously to `per_minute` over a minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._tokens = float(per_minute)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.per_minute, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    async def acquire(self, amount: int = 1) -> None:
        """Take `amount` (at most a minute's worth), waiting until the bucket holds it."""
        amount = min(amount, self.per_minute)
        async with self._lock:
            self._refill()
            while self._tokens < amount:
                await asyncio.sleep((amount - self._tokens) / self._rate)
                self._refill()
            self._tokens -= amount

    def adjust(self, delta: int) -> None:
        """Give back (positive) or charge more (negative) once the real size is known."""
        self._refill()
        self._tokens = min(self.per_minute, self._tokens + delta)


@dataclass(frozen=True)
class RateLimit:
    """Requests and tokens per minute; None means unlimited."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


class Throttle:
    """The request and token buckets of one agent or one provider."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        rpm, tpm = limit.requests_per_minute, limit.tokens_per_minute
        self.requests = RateLimiter(rpm) if rpm else None
        self.tokens = RateLimiter(tpm) if tpm else None

    async def admit(self, tokens: int) -> None:
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(tokens)

    def settle(self, reserved: int, used: int) -> None:
        if self.tokens is not None:
            self.tokens.adjust(reserved - used)


class Limits:
    """Every limit of one process, created on first use and kept per agent and provider."""

    def __init__(self, providers: dict[str, RateLimit] | None = None) -> None:
        self._provider_limits = providers or {}
        self._providers: dict[str, Throttle] = {}
        self._agents: dict[str, Throttle] = {}
        self._slots: dict[str, tuple[int, asyncio.Semaphore]] = {}

    def provider(self, name: str) -> Throttle | None:
        limit = self._provider_limits.get(name)
        if limit is None or not (limit.requests_per_minute or limit.tokens_per_minute):
            return None
        throttle = self._providers.get(name)
        if throttle is None:
            throttle = self._providers[name] = Throttle(limit)
        return throttle

    def agent(self, name: str, limit: RateLimit) -> Throttle | None:
        if not (limit.requests_per_minute or limit.tokens_per_minute):
            return None
        throttle = self._agents.get(name)
        if throttle is None or throttle.limit != limit:
            throttle = self._agents[name] = Throttle(limit)
        return throttle

    @contextlib.asynccontextmanager
    async def slot(self, agent: str, max_concurrency: int | None) -> AsyncIterator[None]:
        """Hold one of the agent's `max_concurrency` slots (no limit when None)."""
        if max_concurrency is None:
            yield
            return
        held = self._slots.get(agent)
        if held is None or held[0] != max_concurrency:
            held = self._slots[agent] = (max_concurrency, asyncio.Semaphore(max_concurrency))
        async with held[1]:
            yield


async def admit_all(throttles: Sequence[Throttle], tokens: int) -> None:
    for throttle in throttles:
        await throttle.admit(tokens)


def settle_all(throttles: Sequence[Throttle], reserved: int, used: int) -> None:
    for throttle in throttles:
        throttle.settle(reserved, used)
