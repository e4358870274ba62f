"""Group commit: runs executed together share write batches, but not each other's failures."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext, Usage
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("keyed")
    async def keyed(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("k" * inputs["length"], lambda: inputs["length"])

    @registry.workflow("report")
    async def report(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.artifact(inputs["name"], "# done\n", media_type=inputs.get("type", "text/plain"))
        return len(inputs["name"])

    @registry.workflow("metered")
    async def metered(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        def bill(_: int) -> list[Usage]:
            return [Usage("writer", "sim", "sim-1", input_tokens=inputs["tokens"])]

        return await ctx.step("call", lambda: inputs["tokens"], usage=bill)

    return registry


async def execute_together(deck: Deck, submissions: list[Submission]) -> list[Any]:
    """Execute the runs in one claim, so that their writes are committed in shared batches."""
    worker: Worker = deck.worker(concurrency=len(submissions))
    await worker.start(loops=False)
    runs = await deck.submit_many(submissions)
    assert await worker.run_once() == len(submissions)
    return [await deck.get(r.id) for r in runs]


async def test_too_long_step_key_fails_its_own_run_and_not_the_runs_beside_it(
    deck: Deck,
) -> None:
    too_long, longest = await execute_together(
        deck, [Submission("keyed", {"length": 301}), Submission("keyed", {"length": 300})]
    )
    assert too_long.status == "failed"
    assert too_long.error is not None
    assert "step key" in too_long.error
    assert "300" in too_long.error
    assert (longest.status, longest.result) == ("succeeded", 300)


async def test_artifact_with_a_too_long_name_or_type_fails_only_its_own_run(deck: Deck) -> None:
    long_name, long_type, fine = await execute_together(
        deck,
        [
            Submission("report", {"name": "n" * 301}),
            Submission("report", {"name": "ok.md", "type": "t" * 101}),
            Submission("report", {"name": "n" * 300}),
        ],
    )
    assert long_name.status == long_type.status == "failed"
    assert "artifact name" in (long_name.error or "")
    assert "media type" in (long_type.error or "")
    assert (fine.status, fine.result) == ("succeeded", 300)
    assert [a.name for a in await deck.artifacts(fine.id)] == ["n" * 300]
    assert await deck.artifacts(long_name.id) == []


async def test_a_write_the_database_refuses_fails_only_the_run_that_made_it(
    deck: Deck, backend: str
) -> None:
    # 2**31 tokens overflow usage.input_tokens (INTEGER) on PostgreSQL; SQLite takes it
    overflowing, fine = await execute_together(
        deck, [Submission("metered", {"tokens": 2**31}), Submission("metered", {"tokens": 7})]
    )
    assert (fine.status, fine.result) == ("succeeded", 7)
    if backend == "postgres":
        assert overflowing.status == "failed"
        assert "out of range" in (overflowing.error or "")
    else:
        assert overflowing.status == "succeeded"
