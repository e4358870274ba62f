"""A 10 s PostgreSQL outage: every run in flight goes on within 5 s of the database's return.

The outage is real: the database refuses new connections (`ALLOW_CONNECTIONS false`)
and every open one is terminated; ten seconds later it accepts them again. Leases are
30 s long, as by default, so a run dropped by its worker would sit `running` for up to
half a minute before anyone rescued it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest

from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.conftest import PG_ADMIN_URL, fast_settings

RUNS = 20
TICKS = 25
OUTAGE_S = 10.0
BACK_WITHIN_S = 5.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def ticks(ctx: RunContext, inputs: dict[str, object]) -> int:
    """TICKS steps of 0.2 s each: a run that is always in the middle of something."""

    async def tick() -> float:
        await asyncio.sleep(0.2)
        return time.time()

    for n in range(TICKS):
        await ctx.step(f"tick:{n}", tick)
    return TICKS


async def _steps_by_run(url: str, since: datetime | None = None) -> Counter[str]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT run_id, count(*) FROM steps WHERE finished_at > %s GROUP BY run_id",
            (since or datetime.min.replace(tzinfo=UTC),),
        )
        return Counter({run_id: n for run_id, n in await cursor.fetchall()})


async def _set_outage(database: str, down: bool) -> None:
    """Refuse (and cut) every connection to `database`, or accept them again."""
    allow = "false" if down else "true"
    async with await psycopg.AsyncConnection.connect(PG_ADMIN_URL, autocommit=True) as conn:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {allow}')  # type: ignore[arg-type]
        if down:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


async def test_runs_in_flight_go_on_within_5_s_of_the_database_return(
    backend: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    if backend != "postgres":
        pytest.skip("an outage of a server: SQLite is a file the process opens itself")
    database = database_url.rsplit("/", 1)[1]
    registry = Registry()
    registry.workflow("ticks")(ticks)
    deck = Deck(fast_settings(database_url, lease_interval=30), registry=registry, migrate=False)
    await deck.start()
    worker = deck.worker(concurrency=RUNS)
    try:
        submitted = await deck.submit_many([Submission("ticks", {}) for _ in range(RUNS)])
        await worker.start()
        async with asyncio.timeout(30):  # every run is under way
            while True:
                if len(await _steps_by_run(database_url)) == RUNS:
                    break
                await asyncio.sleep(0.1)
        await _set_outage(database, down=True)
        try:
            await asyncio.sleep(OUTAGE_S)  # the fault itself lasts a fixed time
        finally:
            back_at = datetime.now(UTC)
            await _set_outage(database, down=False)
        try:
            async with asyncio.timeout(BACK_WITHIN_S):
                while True:
                    if len(progressed := await _steps_by_run(database_url, back_at)) == RUNS:
                        break
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail(f"{RUNS - len(progressed)} runs did not go on within 5 s")
        done = [await deck.wait(run.id, timeout=30) for run in submitted]
    finally:
        await worker.stop()
        await deck.close()
    assert Counter(run.status for run in done) == {"succeeded": RUNS}, [r.error for r in done]
    assert all(run.lease_epoch == 1 for run in done)  # none was dropped and claimed again
    assert sum((await _steps_by_run(database_url)).values()) == RUNS * TICKS
    never_retrieved = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert never_retrieved == []
