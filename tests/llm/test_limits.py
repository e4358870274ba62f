"""Per-agent concurrency and per-provider/agent rate limits, enforced without blocking others."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.llm.limits import Limits, RateLimit, RateLimiter, Throttle
from tests.llm.decks import DeckMaker, drain


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_agents_slots_cap_its_concurrency_and_leave_other_agents_alone() -> None:
    limits = Limits()
    release = asyncio.Event()
    inside: list[str] = []

    async def call(agent: str, cap: int | None) -> None:
        async with limits.slot(agent, cap):
            inside.append(agent)
            await release.wait()

    tasks = [asyncio.create_task(call("slow", 2)) for _ in range(4)]
    tasks += [asyncio.create_task(call("free", None)) for _ in range(3)]
    await settle()
    assert inside.count("slow") == 2
    assert inside.count("free") == 3
    release.set()
    await asyncio.gather(*tasks)
    assert inside.count("slow") == 4


async def test_a_rate_limiter_makes_a_caller_wait_for_the_refill_and_no_one_else() -> None:
    busy, idle = RateLimiter(per_minute=600), RateLimiter(per_minute=600)  # 10 per second
    await busy.acquire(600)  # the bucket is empty now
    started = time.perf_counter()
    waiting = asyncio.create_task(busy.acquire(3))
    await idle.acquire(100)  # another bucket: no wait
    assert time.perf_counter() - started < 0.1
    assert not waiting.done()
    await waiting
    assert 0.2 <= time.perf_counter() - started < 1.0


async def test_a_token_budget_is_settled_with_what_the_call_really_used() -> None:
    throttle = Throttle(RateLimit(tokens_per_minute=1000))
    await throttle.admit(1000)  # reserve the worst case
    throttle.settle(reserved=1000, used=100)  # 900 come back
    started = time.perf_counter()
    await throttle.admit(800)
    assert time.perf_counter() - started < 0.1


def test_limits_are_created_only_where_configured() -> None:
    limits = Limits({"openai": RateLimit(requests_per_minute=500)})
    assert limits.provider("openai") is not None
    assert limits.provider("anthropic") is None
    assert limits.agent("writer", RateLimit()) is None
    assert limits.agent("writer", RateLimit(tokens_per_minute=10)) is not None


async def test_max_concurrency_of_an_agent_holds_through_the_runner(
    make_deck: DeckMaker, registry: Registry
) -> None:
    agents = """
    agents:
      - name: single
        role: executor
        models: [simulator]
        max_concurrency: 1
      - name: many
        role: executor
        models: [simulator]
    """
    deck = make_deck(agents, simulator_latency=timedelta(milliseconds=60))
    elapsed: dict[str, float] = {}

    @registry.workflow("fan")
    async def fan(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def batch(agent: str) -> None:
            started = time.perf_counter()
            await asyncio.gather(*(deck.llm.runner.run(ctx, agent, f"task {n}") for n in range(4)))
            elapsed[agent] = time.perf_counter() - started

        await asyncio.gather(batch("single"), batch("many"))
        return elapsed

    run = await deck.submit("fan", {})
    await drain(deck)

    assert (await deck.get(run.id)).status == "succeeded"
    assert elapsed["single"] >= 4 * 0.06  # one at a time
    assert elapsed["many"] < 2 * 0.06 + 0.1  # all at once, not queued behind `single`
