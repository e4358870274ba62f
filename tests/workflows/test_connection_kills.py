"""Connections killed under a busy worker fail no run and record no step twice (PostgreSQL).

Every 0.2 s the test terminates every connection agentdeck holds to its database
(`pg_terminate_backend`), while 400 loop runs execute: journal writes, claims,
heartbeats and the LISTEN connection all die mid-flight again and again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import psycopg
import pytest

from agentdeck.deck import Deck, Submission
from agentdeck.domain.runs import RunFilter
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.workflows.simulated import SimulatedCalls

RUNS = 400
KILL_EVERY = 0.2

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

_KILL = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
_OPEN = "SELECT count(*) FROM runs WHERE status IN ('queued', 'running', 'waiting')"


async def _kill_until_done(url: str, kills: Counter[str]) -> None:
    """Terminate every other connection to the database every 0.2 s until no run is open."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            killed = (await (await conn.execute(_KILL)).fetchone() or (0,))[0]
            kills["connections"] += killed
            kills["rounds"] += 1
            open_runs = (await (await conn.execute(_OPEN)).fetchone() or (0,))[0]
            if open_runs == 0:
                return
            await asyncio.sleep(KILL_EVERY)
        raise AssertionError("runs still open after 120 s of connection kills")


async def test_connection_kills_fail_no_run_and_duplicate_no_step(
    backend: str, database_url: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgres":
        pytest.skip("pg_terminate_backend is PostgreSQL's; SQLite has no connections to kill")
    settings = fast_settings(
        database_url, simulator="always", simulator_latency=0.5, lease_interval=5
    )
    deck = Deck(settings, registry=registry, migrate=False)
    await deck.start()
    calls = SimulatedCalls(deck, monkeypatch)
    kills: Counter[str] = Counter()
    try:
        deck.llm.warm()
        submitted = await deck.submit_many(
            [
                Submission("loop", {"task": {"topic": f"t{n}"}, "pass_threshold": 0.8})
                for n in range(RUNS)
            ]
        )
        worker = deck.worker(concurrency=100)
        await worker.start()
        await _kill_until_done(database_url, kills)
        await worker.stop()
    finally:
        await deck.close()

    deck = Deck(fast_settings(database_url), registry=registry, migrate=False)
    try:
        assert kills["rounds"] > 30, kills  # the faults really happened
        failed = await deck.list(RunFilter(statuses=("failed",)), limit=10)
        assert [(r.id, r.error) for r in failed.items] == []
        succeeded = await deck.list(RunFilter(statuses=("succeeded",)), limit=500)
        assert len(succeeded.items) == RUNS
        rows = await deck.db.read(
            lambda conn: conn.exec_driver_sql(
                "SELECT run_id, step_key, count(*) FROM usage GROUP BY run_id, step_key"
            ).all()
        )
        # one paid call recorded per model step, and no model call made twice
        assert [r for r in rows if r[2] != 1] == []
        assert sum(calls.answered.values()) == len(rows)
        for run in submitted[:20]:
            steps = await deck.steps(run.id)
            assert len(steps) == len({s.key for s in steps})
            names = [a.name for a in await deck.artifacts(run.id)]
            assert len(names) == len(set(names)), names
    finally:
        await deck.close()
