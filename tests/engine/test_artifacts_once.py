"""Artifacts are written with their step's result: a replayed run stores each name once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.store.journal import insert_artifacts
from agentdeck.store.schema import artifacts
from tests.engine.hooks import Calls, Hold, rescuer

PAST_LEASE = timedelta(seconds=3)  # fast_settings leases last 2 s


async def test_artifact_of_a_step_whose_result_was_refused_is_stored_once_by_the_new_owner(
    frozen_deck: Deck, registry: Registry, clock: FrozenClock
) -> None:
    deck, calls, hold = frozen_deck, Calls(), Hold()

    @registry.workflow("report")
    async def report(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def write() -> str:
            calls["write"] += 1
            artifact = await ctx.artifact("report.md", f"# take {calls['write']}\n")
            if calls["write"] == 1:
                await hold()  # the first executor stops here, its artifact made
            return artifact

        made = await ctx.step("report", write)
        plain = await ctx.artifact("summary.txt", "done", media_type="text/plain")
        return {"report": made, "summary": plain}

    run = await deck.submit("report")
    worker_a, worker_b = deck.worker(), deck.worker()
    await worker_a.start(loops=False)
    await worker_b.start(loops=False)
    executing = asyncio.create_task(worker_a.run_once())
    await hold.entered.wait()
    clock.advance(PAST_LEASE)
    assert (await rescuer(deck).rescue()).requeued == [run.id]
    assert await worker_b.run_once() == 1
    hold.release.set()
    await executing

    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    stored = await deck.artifacts(run.id)
    assert [(a.name, a.content) for a in stored] == [
        ("report.md", "# take 2\n"),
        ("summary.txt", "done"),
    ]
    assert done.result == {"report": stored[0].id, "summary": stored[1].id}
    assert {s.key for s in await deck.steps(run.id)} == {"report", "artifact:summary.txt"}


async def test_replayed_artifact_write_is_a_no_op_and_the_name_is_unique(
    frozen_deck: Deck, registry: Registry
) -> None:
    deck = frozen_deck
    registry.workflow("noop")(_noop)
    run_id = (await deck.submit("noop")).id
    row = {
        "run_id": run_id,
        "name": "a.md",
        "media_type": "text/markdown",
        "content": "first",
        "attempt": None,
        "size": 5,
        "created_at": deck.clock.now(),
    }

    def insert_twice(conn: Connection) -> None:
        insert_artifacts(conn, [{**row, "id": "art_1"}])
        insert_artifacts(conn, [{**row, "id": "art_2", "content": "again"}])

    await deck.db.write(insert_twice)
    assert [(a.id, a.content) for a in await deck.artifacts(run_id)] == [("art_1", "first")]

    def insert_raw(conn: Connection) -> None:
        conn.execute(artifacts.insert(), [{**row, "id": "art_3"}])

    with pytest.raises(IntegrityError):
        await deck.db.write(insert_raw)


async def _noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
    return None
