"""The pool of stack agent executions: a global limit changed live and a cap per stack."""

from __future__ import annotations

import asyncio

from agentdeck.deck.stack_board import Pool


async def test_the_pool_bounds_executions_globally_and_per_stack() -> None:
    pool = Pool(2)
    pool.cap("a", 1)
    async with pool.slot("a", 0) as first:
        assert first
        async with pool.slot("a", 0) as second:
            assert not second  # stack a's own cap
        async with pool.slot("b", 0) as other:
            assert other
            assert pool.in_flight == 2
            async with pool.slot("c", 0) as third:
                assert not third  # the global limit
    assert pool.in_flight == 0


async def test_a_waiting_execution_starts_when_a_slot_frees_or_the_limit_rises() -> None:
    pool = Pool(1)
    started = asyncio.Event()

    async def waiter() -> bool:
        async with pool.slot("b", 5) as got:
            started.set()
            return got

    async with pool.slot("a", 0) as held:
        assert held
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        assert not started.is_set()
        await pool.set_limit(2)  # raising the scale lets it through at once
        await started.wait()
    assert await task


async def test_scale_zero_holds_every_new_execution() -> None:
    pool = Pool(0)
    async with pool.slot("a", 0) as got:
        assert not got
    assert pool.in_flight == 0
