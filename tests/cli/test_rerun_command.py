"""`agentdeck runs rerun ID --from STEP` on the database: the fork's journal holds the steps
before STEP; an unknown step is one line on stderr and exit code 2."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from typer.testing import CliRunner

from agentdeck.cli.main import app
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings


def registry() -> Registry:
    registry = Registry()

    @registry.workflow("two")
    async def two(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        first = await ctx.step("first", lambda: 1)
        second = await ctx.step("second", lambda: 2)
        return first + second

    return registry


def test_runs_rerun_forks_a_finished_run_from_a_step(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def finished() -> str:
        async with Deck(fast_settings(database_url), registry=registry(), migrate=False) as deck:
            run = await deck.submit("two", {})
            worker = deck.worker(concurrency=1)
            await worker.start(loops=False)
            await worker.drain()
            await worker.stop()
            assert (await deck.get(run.id)).status == "succeeded"
            return run.id

    original = asyncio.run(finished())
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", database_url)
    runner = CliRunner()

    done = runner.invoke(app, ["runs", "rerun", original, "--from", "second"])
    assert done.exit_code == 0, done.output
    fork, status = done.stdout.split()[:2]
    assert (fork.startswith("run_"), status) == (True, "queued")

    async def journal() -> tuple[list[str], str | None]:
        async with Deck(fast_settings(database_url), registry=registry(), migrate=False) as deck:
            return [s.key for s in await deck.steps(fork)], (await deck.get(fork)).retry_of

    assert asyncio.run(journal()) == (["first"], original)

    unknown = runner.invoke(app, ["runs", "rerun", original, "--from", "third"])
    assert unknown.exit_code == 2
    assert "has no step 'third'" in unknown.output
