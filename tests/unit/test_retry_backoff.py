"""RetryPolicy: exponential backoff within its jitter bounds, capped, and what is transient."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from agentdeck.domain.errors import StepFailed, TransientError
from agentdeck.domain.retry import NO_RETRY, RetryPolicy

POLICY = RetryPolicy(
    max_attempts=10,
    initial_interval=timedelta(milliseconds=100),
    max_interval=timedelta(seconds=5),
    multiplier=2.0,
)


def ceiling(attempt: int) -> float:
    """The uncapped delay bound of the policy above, written out independently."""
    return 0.1 * 2.0 ** (attempt - 1)


@pytest.mark.parametrize("attempt", range(1, 6))
def test_backoff_stays_within_half_and_full_exponential_ceiling(attempt: int) -> None:
    rng = random.Random(attempt)
    delays = [POLICY.backoff(attempt, rng).total_seconds() for _ in range(200)]
    assert min(delays) >= ceiling(attempt) / 2
    assert max(delays) <= ceiling(attempt)
    # jitter: the delays spread over the window, they are not one constant
    assert max(delays) - min(delays) > ceiling(attempt) / 4


def test_backoff_grows_exponentially_until_the_cap() -> None:
    rng = random.Random(7)
    delays = [POLICY.backoff(n, rng).total_seconds() for n in range(1, 7)]
    # each window starts where the previous one ends, so every draw is >= the one before
    assert delays == sorted(delays)
    assert delays[5] >= 16 * delays[0] / 2  # ceiling 3.2 s vs 0.1 s: far more than linear


@pytest.mark.parametrize("attempt", [7, 10, 30, 200])
def test_backoff_is_capped_at_max_interval(attempt: int) -> None:
    rng = random.Random(attempt)
    for _ in range(50):
        delay = POLICY.backoff(attempt, rng)
        assert timedelta(seconds=2.5) <= delay <= timedelta(seconds=5)


def test_backoff_of_a_huge_attempt_number_is_capped_not_an_overflow() -> None:
    patient = RetryPolicy(max_attempts=100_000, max_interval=timedelta(minutes=1))
    assert patient.backoff(5_000, random.Random(1)) <= timedelta(minutes=1)


def test_backoff_with_the_default_rng_respects_the_same_bounds() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=1))
    assert all(
        timedelta(seconds=1) <= policy.backoff(2) <= timedelta(seconds=2) for _ in range(100)
    )


def test_is_transient_matches_transient_errors_and_their_subclasses_only() -> None:
    class RateLimited(TransientError):
        pass

    policy = RetryPolicy()
    assert policy.is_transient(TransientError("503"))
    assert policy.is_transient(RateLimited("429"))
    assert not policy.is_transient(ValueError("bad input"))
    assert not policy.is_transient(StepFailed("k", "boom", 3))


def test_retry_on_can_name_other_exception_types() -> None:
    policy = RetryPolicy(retry_on=(TimeoutError, ConnectionError))
    assert policy.is_transient(TimeoutError())
    assert policy.is_transient(ConnectionResetError())
    assert not policy.is_transient(TransientError())


def test_no_retry_allows_exactly_one_attempt() -> None:
    assert NO_RETRY.max_attempts == 1
    assert RetryPolicy().max_attempts == 3
