"""Artifacts are written with their step's result: a replayed run stores each name once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.engine.writer import JournalWriter, Write
from agentdeck.store.journal import insert_artifacts
from agentdeck.store.schema import artifacts
from tests.engine.hooks import Calls, Hold, rescuer
from tests.engine.test_lease_fencing import claim_as

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


async def test_a_batch_retried_after_its_commit_answer_was_lost_pays_and_stores_nothing_twice(
    frozen_deck: Deck, registry: Registry, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = frozen_deck
    registry.workflow("noop")(_noop)
    run = await deck.submit("noop")
    epoch = await claim_as(deck, "worker-a")
    committed = deck.db.write_sync
    lost = []

    def commit_then_lose_the_answer(fn: Any) -> Any:
        result = committed(fn)
        if not lost:  # the first commit lands, its answer does not reach the worker
            lost.append(True)
            raise OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))
        return result

    monkeypatch.setattr(deck.db, "write_sync", commit_then_lose_the_answer)
    writer = JournalWriter(deck.db, deck.notifier, clock, "worker-a")
    writer.start()
    now = clock.now()
    step = {
        "run_id": run.id,
        "key": "llm:ask",
        "status": "succeeded",
        "result": "answer",
        "error": None,
        "attempts": 1,
        "started_at": now,
        "finished_at": now,
    }
    usage = {"step_key": "llm:ask", "agent": "a", "provider": "p", "model": "m"}
    usage |= {"input_tokens": 7, "output_tokens": 3, "cost_usd": Decimal("0.5")}
    artifact = {
        "id": "art_x",
        "run_id": run.id,
        "name": "x.md",
        "media_type": "text/markdown",
        "content": "x",
        "attempt": None,
        "size": 1,
        "created_at": now,
    }
    try:
        write = Write(run.id, epoch, steps=[step], usage=[usage], artifacts=[artifact])
        await writer.write(write)
    finally:
        await writer.stop()
    assert lost == [True]
    stored = await deck.get(run.id)
    assert (stored.input_tokens, stored.output_tokens, stored.cost_usd) == (7, 3, Decimal("0.5"))
    assert [s.key for s in await deck.steps(run.id)] == ["llm:ask"]
    assert [a.id for a in await deck.artifacts(run.id)] == ["art_x"]
