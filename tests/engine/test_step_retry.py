"""Step retries: transient errors back off and retry; other errors fail the run at once."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from agentdeck.deck import Deck
from agentdeck.domain.errors import StepFailed, TransientError
from agentdeck.domain.retry import RetryPolicy
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.engine.hooks import Calls
from tests.store.rows import events_of

QUICK = RetryPolicy(max_attempts=4, initial_interval=timedelta(milliseconds=20))


class RateLimited(TransientError):
    """A provider's 429."""


def flaky(calls: Calls, failures: int, error: Exception) -> Any:
    """A step body that raises `error` on its first `failures` calls, then succeeds."""

    def body() -> str:
        calls["flaky"] += 1
        if calls["flaky"] <= failures:
            raise error
        return f"ok after {calls['flaky']}"

    return body


async def execute(deck: Deck, workflow: str) -> str:
    worker = deck.worker(concurrency=2)
    await worker.start(loops=False)
    run = await deck.submit(workflow)
    await worker.drain()
    return run.id


async def test_transient_errors_are_retried_with_growing_backoff_then_succeed(
    deck: Deck, registry: Registry
) -> None:
    calls = Calls()

    @registry.workflow("flaky")
    async def workflow(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("call", flaky(calls, 2, RateLimited("429 slow down")), retry=QUICK)

    started = time.monotonic()
    run_id = await execute(deck, "flaky")
    elapsed = time.monotonic() - started
    run = await deck.get(run_id)
    assert (run.status, run.result) == ("succeeded", "ok after 3")
    assert calls == {"flaky": 3}
    [step] = await deck.steps(run_id)
    assert (step.status, step.attempts, step.error) == ("succeeded", 3, None)
    retries = await events_of(deck, run_id, "step.retry")
    assert [e.data for e in retries] == [
        {"step": "call", "attempt": 1},
        {"step": "call", "attempt": 2},
    ]
    assert all("RateLimited: 429 slow down" in (e.message or "") for e in retries)
    delays = [float(re.findall(r"in ([0-9.]+)s", e.message or "")[0]) for e in retries]
    # windows are [10, 20] ms then [20, 40] ms: the second is never shorter than the first
    assert 0.01 <= delays[0] <= 0.02 <= delays[1] <= 0.04
    assert elapsed >= 0.03  # the backoff was actually waited, not only announced


async def test_non_transient_error_fails_the_run_at_once_keeping_the_error_text(
    deck: Deck, registry: Registry
) -> None:
    calls = Calls()

    @registry.workflow("broken")
    async def workflow(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.step("call", flaky(calls, 5, KeyError("missing field 'title'")), retry=QUICK)
        await ctx.step("never", calls.fn("never"))

    run_id = await execute(deck, "broken")
    run = await deck.get(run_id)
    assert run.status == "failed"
    assert run.error is not None
    assert "missing field 'title'" in run.error
    assert "KeyError" in run.error
    assert calls == {"flaky": 1}
    assert await events_of(deck, run_id, "step.retry") == []
    [step] = await deck.steps(run_id)
    assert (step.status, step.attempts) == ("failed", 1)
    assert step.error is not None
    assert "missing field 'title'" in step.error
    assert len(await events_of(deck, run_id, "step.failed")) == 1
    assert len(await events_of(deck, run_id, "run.failed")) == 1


async def test_step_that_stays_transiently_broken_fails_the_run_after_max_attempts(
    deck: Deck, registry: Registry
) -> None:
    calls = Calls()

    @registry.workflow("down")
    async def workflow(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step(
            "call", flaky(calls, 99, TransientError("503 unavailable")), retry=QUICK
        )

    run_id = await execute(deck, "down")
    run = await deck.get(run_id)
    assert run.status == "failed"
    assert run.error is not None
    assert "after 4 attempt(s)" in run.error
    assert "503 unavailable" in run.error
    assert calls == {"flaky": QUICK.max_attempts}
    assert len(await events_of(deck, run_id, "step.retry")) == QUICK.max_attempts - 1
    [step] = await deck.steps(run_id)
    assert (step.status, step.attempts) == ("failed", 4)


async def test_workflow_may_catch_a_failed_step_and_carry_on(
    deck: Deck, registry: Registry
) -> None:
    calls = Calls()

    @registry.workflow("fallback")
    async def workflow(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        try:
            return await ctx.step("primary", flaky(calls, 9, RateLimited("429")), retry=QUICK)
        except StepFailed as failed:
            backup = await ctx.step("backup", calls.fn("backup", "from backup"))
            return {"attempts": failed.attempts, "key": failed.key, "value": backup}

    run_id = await execute(deck, "fallback")
    run = await deck.get(run_id)
    assert run.status == "succeeded"
    assert run.result == {"attempts": 4, "key": "primary", "value": "from backup"}
    assert {s.key: s.status for s in await deck.steps(run_id)} == {
        "primary": "failed",
        "backup": "succeeded",
    }


async def test_a_custom_retry_on_retries_other_exception_types(
    deck: Deck, registry: Registry
) -> None:
    calls = Calls()
    on_timeout = RetryPolicy(
        max_attempts=3, initial_interval=timedelta(milliseconds=1), retry_on=(TimeoutError,)
    )

    @registry.workflow("timeouts")
    async def workflow(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step(
            "call", flaky(calls, 2, TimeoutError("read timed out")), retry=on_timeout
        )

    run_id = await execute(deck, "timeouts")
    assert (await deck.get(run_id)).status == "succeeded"
    assert calls == {"flaky": 3}
