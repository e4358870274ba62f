"""Idempotency keys: a key already used returns that key's run, and writes nothing new."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.store.rows import row_counts


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("noop")
    async def noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
        return None

    return registry


async def test_submit_with_a_used_key_returns_the_existing_run(deck: Deck) -> None:
    first = await deck.submit("noop", {"n": 1}, idempotency_key="nightly-2026-01-01")
    after_first = await row_counts(deck)
    again = await deck.submit("noop", {"n": 2}, priority=9, idempotency_key="nightly-2026-01-01")
    assert again.id == first.id
    assert again.inputs == {"n": 1}  # the first submit's inputs win
    assert again.priority == 0
    assert await row_counts(deck) == after_first

    await deck.cancel(first.id)
    later = await deck.submit("noop", idempotency_key="nightly-2026-01-01")
    assert (later.id, later.status) == (first.id, "cancelled")  # as it stands now


async def test_submit_many_with_a_key_repeated_in_one_call_creates_one_run(deck: Deck) -> None:
    runs = await deck.submit_many(
        [
            Submission("noop", {"n": 1}, idempotency_key="same"),
            Submission("noop", {"n": 2}),
            Submission("noop", {"n": 3}, idempotency_key="same"),
            Submission("noop", {"n": 4}, idempotency_key="other"),
            Submission("noop", {"n": 5}, idempotency_key="same"),
        ]
    )
    assert len(runs) == 5
    assert runs[0].id == runs[2].id == runs[4].id
    assert runs[0].inputs == {"n": 1}
    assert len({r.id for r in runs}) == 3
    counts = await row_counts(deck)
    assert counts["runs"] == 3
    assert counts["events"] == 3  # one run.submitted per run created


async def test_submit_many_mixes_existing_keys_and_new_runs_in_order(deck: Deck) -> None:
    existing = await deck.submit("noop", {"n": 0}, idempotency_key="old")
    runs = await deck.submit_many(
        [
            Submission("noop", {"n": 1}),
            Submission("noop", {"n": 2}, idempotency_key="old"),
            Submission("noop", {"n": 3}, idempotency_key="new"),
        ]
    )
    assert runs[1].id == existing.id
    assert runs[0].inputs == {"n": 1}
    assert runs[2].inputs == {"n": 3}
    assert runs[2].idempotency_key == "new"
    assert len({r.id for r in runs}) == 3
    assert (await row_counts(deck))["runs"] == 3
    unkeyed = await deck.submit_many([Submission("noop", {"n": 1})] * 3)
    assert len({r.id for r in unkeyed}) == 3  # no key: never deduplicated


async def test_concurrent_submits_with_one_key_create_exactly_one_run(deck: Deck) -> None:
    # On PostgreSQL the loser of the insert race hits the unique index and retries.
    runs = await asyncio.gather(
        *(deck.submit("noop", {"n": n}, idempotency_key="race") for n in range(12))
    )
    assert len({r.id for r in runs}) == 1
    counts = await row_counts(deck)
    assert (counts["runs"], counts["events"]) == (1, 1)
