"""The step journal: a step runs once, its result is replayed, bad steps fail the run clearly."""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker
from tests.engine.hooks import Calls, Hold


async def started_worker(deck: Deck) -> Worker:
    worker = deck.worker(concurrency=4)
    await worker.start(loops=False)
    return worker


async def test_step_result_is_journaled_and_replayed_on_resume_without_executing_again(
    deck: Deck, registry: Registry
) -> None:
    calls = Calls()

    def token() -> str:
        calls["token"] += 1
        return uuid.uuid4().hex  # differs per execution: a replay must return the stored one

    @registry.workflow("replay")
    async def replay(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        first = await ctx.step("token", token)
        go = await ctx.wait_for_signal("go")
        second = await ctx.step("after", calls.fn("after", {"go": go}))
        return {"token": first, "after": second}

    worker = await started_worker(deck)
    run = await deck.submit("replay")
    assert await worker.run_once() == 1
    parked = await deck.get(run.id)
    assert parked.status == "waiting"
    [stored_token] = [s.result for s in await deck.steps(run.id) if s.key == "token"]

    await deck.signal(run.id, "go", 42)
    assert await worker.drain() == 1
    done = await deck.get(run.id)
    assert done.status == "succeeded"
    assert done.result == {"token": stored_token, "after": {"go": 42}}
    assert calls == {"token": 1, "after": 1}
    steps = {s.key: s for s in await deck.steps(run.id)}
    assert set(steps) == {"token", "signal:go:0", "after"}
    assert all(s.status == "succeeded" and s.attempts == 1 for s in steps.values())


async def test_steps_may_be_sync_or_async_functions_and_return_any_json(
    deck: Deck, registry: Registry
) -> None:
    async def fetch() -> dict[str, Any]:
        return {"items": [1, "two", None, {"three": 3.5}], "ok": True}

    @registry.workflow("kinds")
    async def kinds(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return [await ctx.step("sync", lambda: "plain"), await ctx.step("async", fetch)]

    worker = await started_worker(deck)
    run = await deck.submit("kinds")
    await worker.drain()
    done = await deck.get(run.id)
    assert done.result == ["plain", {"items": [1, "two", None, {"three": 3.5}], "ok": True}]


async def test_duplicate_step_key_in_one_run_fails_the_run_with_a_clear_error(
    deck: Deck, registry: Registry
) -> None:
    calls = Calls()

    @registry.workflow("twice")
    async def twice(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.step("plan", calls.fn("first"))
        await ctx.step("plan", calls.fn("second"))

    worker = await started_worker(deck)
    run = await deck.submit("twice")
    await worker.drain()
    failed = await deck.get(run.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "'plan'" in failed.error
    assert "twice" in failed.error
    assert calls == {"first": 1}
    assert [s.key for s in await deck.steps(run.id)] == ["plan"]


async def test_step_with_a_non_json_result_fails_the_run_clearly_on_every_database(
    deck: Deck, registry: Registry
) -> None:
    # NaN: SQLite would store it, PostgreSQL's jsonb would refuse the whole write batch
    bad = {"tags": {"a", "b"}, "score": math.nan}

    @registry.workflow("bad-result")
    async def bad_result(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step(inputs["key"], lambda: {inputs["key"]: bad[inputs["key"]]})

    worker = await started_worker(deck)
    runs = await deck.submit_many([Submission("bad-result", {"key": key}) for key in bad])
    await worker.drain()
    for run, key in zip(runs, bad, strict=True):
        failed = await deck.get(run.id)
        assert failed.status == "failed", key
        assert failed.error is not None
        assert f"'{key}'" in failed.error
        assert "JSON" in failed.error
        [step] = await deck.steps(run.id)
        assert (step.status, step.result, step.attempts) == ("failed", None, 1)


async def test_workflow_with_a_non_json_result_fails_instead_of_succeeding(
    deck: Deck, registry: Registry
) -> None:
    @registry.workflow("bad-return")
    async def bad_return(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return {"when": object()}

    worker = await started_worker(deck)
    run = await deck.submit("bad-return")
    await worker.drain()
    failed = await deck.get(run.id)
    assert (failed.status, failed.result) == ("failed", None)
    assert failed.error is not None
    assert "JSON" in failed.error


async def test_artifacts_and_events_of_a_run_are_stored_in_order(
    deck: Deck, registry: Registry
) -> None:
    @registry.workflow("records")
    async def records(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        ctx.emit("log", "one", n=1)
        await ctx.step("s", lambda: 1)
        ctx.emit("log", "two", n=2)
        return await ctx.artifact("report.md", "# Report\n", attempt=1)

    worker = await started_worker(deck)
    run = await deck.submit("records")
    await worker.drain()
    done = await deck.get(run.id)
    [artifact] = await deck.artifacts(run.id)
    assert done.result == artifact.id
    assert (artifact.name, artifact.content, artifact.size) == ("report.md", "# Report\n", 9)
    logs = [(e.message, e.data) for e in await deck.events(run.id) if e.kind == "log"]
    assert logs == [("one", {"n": 1}), ("two", {"n": 2})]
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds[0] == "run.submitted"
    assert kinds[-1] == "run.succeeded"


async def test_an_artifact_stored_in_a_step_commits_with_the_step_result(
    deck: Deck, registry: Registry
) -> None:
    hold = Hold()

    @registry.workflow("drafts")
    async def drafts(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def save() -> str:
            artifact_id = await ctx.artifact("draft.md", "# Draft\n", attempt=1)
            await hold()
            return artifact_id

        return await ctx.step("save", save)

    worker = await started_worker(deck)
    run = await deck.submit("drafts")
    executing = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(hold.entered.wait(), 10)
    assert await deck.artifacts(run.id) == []  # not apart from the step's result
    hold.release.set()
    await executing
    [artifact] = await deck.artifacts(run.id)
    [step] = [s for s in await deck.steps(run.id) if s.key == "save"]
    assert step.result == artifact.id
    assert (await deck.get(run.id)).result == artifact.id


async def test_an_artifact_stored_in_a_failed_step_is_kept(deck: Deck, registry: Registry) -> None:
    @registry.workflow("fails")
    async def fails(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def save() -> str:
            await ctx.artifact("log.txt", "what went wrong", media_type="text/plain")
            raise ValueError("no")

        return await ctx.step("save", save)

    worker = await started_worker(deck)
    run = await deck.submit("fails")
    await worker.drain()
    assert (await deck.get(run.id)).status == "failed"
    [artifact] = await deck.artifacts(run.id)
    assert artifact.content == "what went wrong"
