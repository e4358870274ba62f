"""W3 latency: sequential one-step submissions on an idle system; submit → step start → result.

SQLite: the worker runs in this process and event loop. PostgreSQL: the worker is a
separate `agentdeck worker` process, woken by LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agentdeck.deck import Deck
from bench.databases import fresh_database
from bench.harness import log, percentile, start_deck
from bench.workflows import STAMP, open_deck

NAME = "W3"
DEFAULTS: dict[str, Any] = {"runs": 100, "warmup": 5, "concurrency": 10}
REPO = Path(__file__).resolve().parent.parent


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    with fresh_database(db) as url:
        deck = open_deck(url)
        try:
            await start_deck(deck)
            async with _worker(deck, url, params["concurrency"]):
                for _ in range(params["warmup"]):
                    await _one(deck)
                samples = [await _one(deck) for _ in range(params["runs"])]
        finally:
            await deck.close()
    start = [s for s, _ in samples]
    result = [r for _, r in samples]
    metrics = {
        "start_p50_ms": percentile(start, 50),
        "start_p95_ms": percentile(start, 95),
        "start_p99_ms": percentile(start, 99),
        "result_p50_ms": percentile(result, 50),
        "result_p99_ms": percentile(result, 99),
    }
    log("  " + ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()))
    return metrics


async def _one(deck: Deck) -> tuple[float, float]:
    """(submit → step starts, submit → result seen by the submitter), in milliseconds."""
    wall0, t0 = time.time(), time.perf_counter()
    run = await deck.submit(STAMP)
    done = await deck.wait(run.id, timeout=30)
    result_ms = (time.perf_counter() - t0) * 1000
    if done.status != "succeeded":
        raise RuntimeError(f"run {run.id} ended {done.status}: {done.error}")
    return (float(done.result) - wall0) * 1000, result_ms


@asynccontextmanager
async def _worker(deck: Deck, url: str, concurrency: int) -> AsyncIterator[None]:
    """A worker for the measurements: in process on SQLite, a subprocess on PostgreSQL."""
    if deck.db.is_sqlite:
        await deck.worker(concurrency).start()
        yield
        return
    env = {
        **os.environ,
        "AGENTDECK_DATABASE_URL": url,
        "AGENTDECK_WORKFLOW_MODULES": "bench.workflows",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    agentdeck = str(Path(sys.prefix) / "bin" / "agentdeck")
    proc = await asyncio.create_subprocess_exec(
        agentdeck, "worker", "--concurrency", str(concurrency), cwd=REPO, env=env, stdout=sys.stderr
    )
    try:
        await _until_alive(deck, proc)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            log("  worker did not stop within 30 s of SIGTERM; killing it")
            proc.kill()
            await proc.wait()


async def _until_alive(deck: Deck, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while not any(w.status == "alive" for w in await deck.workers()):
        if proc.returncode is not None:
            raise RuntimeError(f"the worker process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the worker process did not register within 60 s")
        await asyncio.sleep(0.05)
