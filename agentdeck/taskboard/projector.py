"""Projector: the plan workflow's task changes, batched into fenced transactions.

Runs of one process queue their changes here; what is pending commits in one
transaction, written only for runs whose lease (run, epoch) still holds. A change
lands only where the row is where its move starts and has seen fewer of the
workflow's changes (see TaskWrite), and its event is recorded only if it landed: a
replayed run repeats its changes without doubling anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from agentdeck.clock import Clock
from agentdeck.domain.errors import LeaseLost
from agentdeck.domain.runs import RunStatus
from agentdeck.domain.tasks import Executor, TaskStatus, TaskWrite
from agentdeck.engine.notifier import Notifier, Topic
from agentdeck.store import journal
from agentdeck.store import runs as run_queries
from agentdeck.store import tasks as task_queries
from agentdeck.store.database import Database
from agentdeck.store.notify import notify


@dataclass
class _Item:
    run_id: str
    epoch: int
    rows: Sequence[dict[str, Any]] = ()
    writes: Sequence[TaskWrite] = ()


class Projector:
    """Group commit of task changes; `flush(run)` waits until a run's changes are stored."""

    def __init__(
        self, db: Database, clock: Clock, notifier: Notifier, on_offers: Callable[[], None]
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._on_offers = on_offers
        self._pending: list[tuple[_Item, asyncio.Future[None]]] = []
        self._unsettled: dict[str, list[asyncio.Future[None]]] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def _ensure_running(self) -> None:
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            return
        if task is not None and not task.done():  # left in another event loop: start anew
            task.get_loop().call_soon_threadsafe(task.cancel)
        self._wakeup = asyncio.Event()
        self._pending = []
        self._task = asyncio.create_task(self._run(), name="agentdeck-task-projector")

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for futures in list(self._unsettled.values()):
            ours = [f for f in futures if f.get_loop() is loop]
            await asyncio.gather(*ours, return_exceptions=True)
        self._unsettled.clear()
        task, self._task = self._task, None
        if task is None or task.done():
            return
        if task.get_loop() is not asyncio.get_running_loop():
            if not task.get_loop().is_closed():
                task.get_loop().call_soon_threadsafe(task.cancel)
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def send(self, item: _Item) -> asyncio.Future[None]:
        self._ensure_running()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._pending.append((item, future))
        self._unsettled.setdefault(item.run_id, []).append(future)
        self._wakeup.set()
        return future

    def record(self, run_id: str, epoch: int, writes: Sequence[TaskWrite]) -> None:
        self.send(_Item(run_id, epoch, writes=writes))

    async def create(self, run_id: str, epoch: int, rows: Sequence[dict[str, Any]]) -> None:
        await self.send(_Item(run_id, epoch, rows=rows))

    async def flush(self, run_id: str) -> None:
        """Wait for the run's queued changes; LeaseLost if the run no longer held its lease."""
        futures = self._unsettled.pop(run_id, [])
        if not futures:
            return
        await asyncio.gather(*futures, return_exceptions=True)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            await asyncio.sleep(0)  # one tick for neighbours' changes to join the batch
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[_Item, asyncio.Future[None]]]) -> None:
        items = [item for item, _ in batch]
        try:
            held, events, offers = await self._db.write(lambda conn: self._apply(conn, items))
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self.batches += 1
        if events:
            self._notifier.publish(Topic.EVENT)
        if offers:
            self._on_offers()
        for (item, future), ok in zip(batch, held, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(None)
            else:
                future.set_exception(LeaseLost(f"run {item.run_id} lease lost"))
        for run_id in {item.run_id for item in items}:
            futures = self._unsettled.get(run_id)
            if futures is not None:
                futures[:] = [f for f in futures if not f.done()]
                if not futures:
                    self._unsettled.pop(run_id, None)

    def _apply(self, conn: Connection, items: list[_Item]) -> tuple[list[bool], int, bool]:
        now = self._clock.now()
        leases = run_queries.lock_leases(conn, {i.run_id for i in items})
        held: list[bool] = []
        writes: list[tuple[str, TaskWrite]] = []
        for item in items:
            lease = leases.get(item.run_id)
            ok = (
                lease is not None
                and lease.status == RunStatus.RUNNING
                and lease.lease_epoch == item.epoch
            )
            held.append(ok)
            if ok:
                task_queries.insert_tasks(conn, item.rows)
                writes += [(item.run_id, w) for w in item.writes]
        landed = task_queries.apply_writes(conn, [w for _, w in writes], now)
        events: list[dict[str, Any]] = []
        offers = False
        for (run_id, write), ok in zip(writes, landed, strict=True):
            if not ok:
                continue
            if write.event is not None:
                events.append({"run_id": run_id, "created_at": now, **write.event})
            external = write.values.get("executor") == Executor.EXTERNAL
            offers = offers or (write.move.target == TaskStatus.READY and external)
        journal.insert_events(conn, events)
        if offers and not events:
            notify(conn, ["event"])  # external agents' long polls in other processes wake on it
        return held, len(events), offers


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it; flush() raises it
