"""What the workloads share: watching runs finish, checking outcomes, percentiles."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import func, select

from agentdeck.deck import Deck
from agentdeck.domain.workers import WorkerRow
from agentdeck.engine.notifier import Topic
from agentdeck.store import runs as run_queries
from agentdeck.store.schema import runs

REPO = Path(__file__).resolve().parent.parent
STDERR_FD = 2  # a child's output goes to our stderr by descriptor: sys.stderr may not have one


def log(message: str) -> None:
    """Progress and diagnostics: stderr only (stdout carries the JSON lines)."""
    print(message, file=sys.stderr, flush=True)


async def start_deck(deck: Deck) -> None:
    """Start the deck's wake-ups; on PostgreSQL wait until its LISTEN connection is up."""
    await deck.start()
    if deck.listener is not None:
        await asyncio.wait_for(deck.listener.connected.wait(), 30)


class FinishWatch:
    """Counts distinct runs reported finished on the deck's notifier; notes when all `n` are.

    The notice is published right after the run's final write commits, so
    `done_at` is when the last run's outcome became durable.
    """

    def __init__(self, deck: Deck, n: int) -> None:
        self.n = n
        self.done_at: float | None = None
        self.done_wall: float | None = None
        self._seen: set[str] = set()
        self._done = asyncio.Event()
        self._unsubscribe = deck.notifier.subscribe(self._on_notice)

    def _on_notice(self, topic: Topic, run_id: str | None) -> None:
        if topic != Topic.FINISHED or run_id is None or self._done.is_set():
            return
        self._seen.add(run_id)
        if len(self._seen) >= self.n:
            self.done_at = time.perf_counter()
            self.done_wall = time.time()
            self._done.set()
            self._unsubscribe()

    async def wait(self, timeout: float) -> float:  # noqa: ASYNC109
        """perf_counter() when the n-th run finished."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            raise RuntimeError(f"only {len(self._seen)} of {self.n} runs finished") from None
        assert self.done_at is not None
        return self.done_at


async def finished_wall(
    deck: Deck,
    n: int,
    watch: FinishWatch,
    proc: asyncio.subprocess.Process,
    *,
    timeout: float,  # noqa: ASYNC109
    poll_s: float = 0.005,
) -> float:
    """time.time() when this process saw the n-th run finished by a worker process.

    PostgreSQL: the worker's FINISHED notices, counted by `watch` (armed before the
    worker started). SQLite has no notices across processes: the finished runs are
    counted every `poll_s`, which adds at most `poll_s` to the span.
    """
    query = select(func.count()).select_from(runs).where(runs.c.finished_at.is_not(None))
    deadline = time.monotonic() + timeout
    exited = asyncio.ensure_future(proc.wait())
    try:
        while time.monotonic() < deadline:
            if deck.db.is_postgres:
                done = asyncio.ensure_future(watch.wait(deadline - time.monotonic()))
                await asyncio.wait([done, exited], return_when=asyncio.FIRST_COMPLETED)
                if done.done():
                    await done
                    assert watch.done_wall is not None
                    return watch.done_wall
                done.cancel()
            elif await deck.db.read(lambda conn: conn.execute(query).scalar_one()) >= n:
                return time.time()
            if exited.done():
                raise RuntimeError(f"the worker process exited with {proc.returncode}")
            await asyncio.sleep(poll_s)
    finally:
        exited.cancel()
    raise RuntimeError(f"not all {n} runs finished within {timeout} s")


@asynccontextmanager
async def worker_process(
    url: str, concurrency: int | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """An `agentdeck worker` process on `url` that knows the bench workflows.

    The bench's environment goes along (AGENTDECK_SQLITE_SYNCHRONOUS included); it is
    stopped with SIGTERM on the way out.
    """
    env = {
        **os.environ,
        "AGENTDECK_DATABASE_URL": url,
        "AGENTDECK_WORKFLOW_MODULES": "bench.workflows",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    agentdeck = str(Path(sys.prefix) / "bin" / "agentdeck")
    args = ["worker", *(["--concurrency", str(concurrency)] if concurrency else [])]
    proc = await asyncio.create_subprocess_exec(
        agentdeck, *args, cwd=REPO, env=env, stdout=STDERR_FD
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                log("  worker did not stop within 30 s of SIGTERM; killing it")
                proc.kill()
                await proc.wait()


async def worker_ready(deck: Deck, proc: asyncio.subprocess.Process) -> WorkerRow:
    """The worker process's row once it has registered (its `started_at`: when it was ready)."""
    deadline = time.monotonic() + 60
    while True:
        alive = [w for w in await deck.workers() if w.status == "alive" and w.pid == proc.pid]
        if alive:
            return alive[0]
        if proc.returncode is not None:
            raise RuntimeError(f"the worker process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the worker process did not register within 60 s")
        await asyncio.sleep(0.02)


async def check_all_succeeded(deck: Deck, n: int) -> None:
    counts = await deck.db.read(run_queries.count_by_status)
    if counts.get("succeeded", 0) != n or sum(counts.values()) != n:
        raise RuntimeError(f"expected {n} succeeded runs, found {counts}")


async def claim_to_finish_s(deck: Deck) -> float:
    """Seconds from the first run's claim to the last run's finish, from the runs table."""
    query = select(func.min(runs.c.started_at), func.max(runs.c.finished_at))
    first, last = await deck.db.read(lambda conn: conn.execute(query).one())
    return float((last - first).total_seconds())


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
