"""One model call through a fallback chain: bounded retries with backoff, then the next model.

A transient error (429, 5xx, timeout, refused connection, unreadable answer) is retried
on the same model up to `retries` times; a permanent one (400, 401, 403, 404, missing
key) moves straight to the next model. One model gets at most `model_timeout` seconds,
its tries and backoffs together, so a hanging provider costs a bounded time before the
next model is tried. Each attempt is reported to `on_attempt`.

The price of a call is reckoned here too, from genai-prices: None when no price is
known, never a silent zero; budgets reserve a call's worst case before it is made.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from genai_prices import calc_price
from genai_prices.types import AbstractUsage
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RequestUsage

from agentdeck.llm.errors import Failure, ModelUnavailable, describe
from agentdeck.llm.limits import Throttle, admit_all, settle_all
from agentdeck.llm.names import ModelRef
from agentdeck.llm.providers import ModelFactory


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request to one model: how long it took and, if it failed, how."""

    ref: ModelRef
    number: int
    latency_ms: float
    failure: Failure | None = None
    retry_in_s: float | None = None

    def record(self) -> dict[str, object]:
        """The attempt as JSON for events and step results (no secrets: the failure is redacted)."""
        out: dict[str, object] = {
            "provider": self.ref.provider,
            "model": self.ref.name,
            "attempt": self.number,
            "latency_ms": round(self.latency_ms, 3),
            "ok": self.failure is None,
        }
        if self.failure is not None:
            out.update(
                error_class=self.failure.error_class,
                transient=self.failure.transient,
                status=self.failure.status,
                code=self.failure.code,
                error=self.failure.message,
            )
        if self.retry_in_s is not None:
            out["retry_in_s"] = round(self.retry_in_s, 3)
        return out


@dataclass(frozen=True, slots=True)
class Answer:
    """The response of the model that answered, its cost, and every attempt made on the way."""

    ref: ModelRef
    response: ModelResponse
    cost_usd: Decimal | None
    latency_ms: float
    attempts: list[Attempt]


Throttles = Callable[[ModelRef], Sequence[Throttle]]


class ModelCaller:
    """Calls a chain of models, in order, until one answers."""

    def __init__(self, factory: ModelFactory, rng: random.Random | None = None) -> None:
        self.factory = factory
        self.config = factory.config
        self._rng = rng or random.Random()

    async def request(
        self,
        refs: Sequence[ModelRef],
        messages: list[ModelMessage],
        settings: ModelSettings | None,
        params: ModelRequestParameters,
        *,
        role: str | None = None,
        token_estimate: int = 0,
        throttles: Throttles | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        model_timeout: float | None = None,
    ) -> Answer:
        """The first answer of the chain; ModelUnavailable (with every attempt) if none answers.

        `model_timeout` (seconds; the config's by default) bounds the time spent on one
        model, its tries and backoffs together.
        """
        attempts: list[Attempt] = []
        timeout = self.config.request_timeout.total_seconds()
        per_model = model_timeout or self.config.model_timeout.total_seconds()
        redactor = self.factory.keys.redactor
        for ref in refs:
            number = 0
            deadline = time.monotonic() + per_model
            while True:
                number += 1
                gates = throttles(ref) if throttles is not None else ()
                started = time.perf_counter()
                try:
                    model = self.factory.model(ref, role)
                    if gates:
                        await admit_all(gates, token_estimate)
                    started = time.perf_counter()
                    if ref.is_simulator:  # no network: its latency is its own setting
                        response = await model.request(messages, settings, params)
                    else:
                        left = max(0.0, deadline - time.monotonic())
                        async with asyncio.timeout(min(timeout, left)):
                            response = await model.request(messages, settings, params)
                except Exception as error:
                    failure = describe(error, redactor)
                    latency_ms = (time.perf_counter() - started) * 1000
                    if gates:
                        settle_all(gates, token_estimate, 0)
                    retry = failure.transient and number <= self.config.retries
                    delay = self._backoff(number, failure.retry_after) if retry else None
                    if delay is not None and time.monotonic() + delay >= deadline:
                        delay = None  # this model's time is up: the next one is tried
                    attempt = Attempt(ref, number, latency_ms, failure, delay)
                    attempts.append(attempt)
                    if on_attempt is not None:
                        on_attempt(attempt)
                    if delay is None:
                        break
                    await asyncio.sleep(delay)
                    continue
                latency_ms = (time.perf_counter() - started) * 1000
                usage = response.usage
                if gates:
                    settle_all(gates, token_estimate, usage.input_tokens + usage.output_tokens)
                attempt = Attempt(ref, number, latency_ms)
                attempts.append(attempt)
                if on_attempt is not None:
                    on_attempt(attempt)
                cost = cost_of(ref, usage, self.factory.base_url(ref))
                return Answer(ref, response, cost, latency_ms, attempts)
        tried = "; ".join(
            f"{a.ref.id} #{a.number}: {a.failure.summary()}" for a in attempts if a.failure
        )
        raise ModelUnavailable(f"no model answered ({tried})", [a.record() for a in attempts])

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a provider's Retry-After wins, up to the cap."""
        cap = self.config.retry_max_interval.total_seconds()
        ceiling = min(cap, self.config.retry_interval.total_seconds() * 2 ** (attempt - 1))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, cap))
        return delay


# --- what a call costs ----------------------------------------------------------

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
