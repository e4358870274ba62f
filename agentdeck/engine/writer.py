"""Group commit: every write of a worker's runs, batched into one fenced transaction.

This is the one fenced writer: steps, events, artifacts, usage, run changes and the
tasks of plan runs are all written here, and only while (run, worker, epoch) still
hold the run's lease. A task change lands only where the row is where its move starts
and has seen fewer of the workflow's changes (see TaskWrite), and its event is recorded
only if it landed: a replayed run repeats its changes without doubling anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection

from agentdeck.clock import Clock
from agentdeck.domain.errors import LeaseLost
from agentdeck.domain.events import EventKind
from agentdeck.domain.runs import RunStatus
from agentdeck.domain.tasks import Executor, TaskStatus, TaskWrite
from agentdeck.engine.fencing import Fence, FenceMark
from agentdeck.engine.notifier import Notifier, Topic, payload
from agentdeck.engine.reconnect import outlast
from agentdeck.store import journal
from agentdeck.store import runs as run_queries
from agentdeck.store import tasks as task_queries
from agentdeck.store.database import Database
from agentdeck.store.notify import notify
from agentdeck.store.runs import Lease

T = TypeVar("T")


@dataclass
class Write:
    """What one run writes at once; applied only while (worker, epoch) hold its lease."""

    run_id: str
    epoch: int
    steps: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)
    run_values: dict[str, Any] | None = None
    # (name, n): if the n-th signal of this name already arrived, queue the run
    # instead of parking it, so a signal racing the suspend is never lost
    unless_signal: tuple[str, int] | None = None
    notify: list[Topic] = field(default_factory=list)
    # the run's tasks (plan runs): rows to create, then guarded changes
    task_rows: list[dict[str, Any]] = field(default_factory=list)
    task_writes: list[TaskWrite] = field(default_factory=list)
    fence: FenceMark = field(default_factory=FenceMark)


@dataclass
class Ride:
    """Other work of the worker (a claim) that rides in the next batch's transaction."""

    fn: Callable[[Connection], Any]


Item = Write | Ride


class JournalWriter:
    """Takes writes from many runs and commits them together.

    One batch is in the database at a time; what arrives meanwhile forms the
    next batch. Writes of one run are applied in the order they were made, so
    a later write (a finish) never commits before an earlier one (a step).
    The worker's claims ride along: slots freed by the finishes of one batch
    are filled in the next transaction, with no commit of their own.
    """

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        worker_id: str,
        on_task_writes: Callable[[bool], None] | None = None,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._clock = clock
        self._worker_id = worker_id
        # called after a batch that changed tasks; True when it offered some to external
        # agents (whose long polls in this process then look again)
        self._on_task_writes = on_task_writes
        self._pending: list[tuple[Item, asyncio.Future[Any]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # set when the worker stops: a batch the database cannot take is then given up
        # (its runs' leases expire and the rescuer hands them on) instead of retried
        self._giving_up = False
        self.batches = 0
        self.fence = Fence()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agentdeck-writer")

    def give_up(self) -> None:
        """From now on, a batch the database cannot take fails instead of being retried."""
        self._giving_up = True

    async def stop(self) -> None:
        """Flush what is pending (given up at once if the database is unreachable), then stop."""
        self.give_up()
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def flush(self) -> None:
        while self._pending:
            await asyncio.gather(*(f for _, f in self._pending), return_exceptions=True)

    def send(self, write: Write) -> asyncio.Future[Lease]:
        """Queue a write; the future resolves to the run's lease once committed."""
        future: asyncio.Future[Lease] = asyncio.get_running_loop().create_future()
        write.fence.lease_until = self.fence.lease_until(write.run_id)
        self._pending.append((write, future))
        self._wakeup.set()
        return future

    async def write(self, write: Write) -> Lease:
        """Queue a write and wait until it is durable; LeaseLost if the lease is gone."""
        return await self.send(write)

    async def ride(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` inside the next batch's transaction, after its writes."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((Ride(fn), future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            # One tick for the tasks woken with this write (a claim for the slots
            # it frees, its neighbours' writes) to join the batch.
            await asyncio.sleep(0)
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            if not batch:
                continue
            try:
                await self._commit(batch)
            except Exception:
                if len(batch) == 1:
                    continue
                # One write the database refuses must not fail the runs beside it:
                # retry each alone, in order, so only the offender sees the error.
                for item in batch:
                    with contextlib.suppress(Exception):
                        await self._commit([item])

    async def _commit(self, batch: list[tuple[Item, asyncio.Future[Any]]]) -> None:
        """Apply a batch in one transaction and settle its futures; raises if it failed."""
        items = [item for item, _ in batch]
        tasks = _TaskOutcome()

        tries = 0

        def attempt() -> Awaitable[list[Any]]:
            nonlocal tasks, tries
            tasks = _TaskOutcome()  # what a rolled-back try did to tasks does not count
            tries += 1
            apply = partial(self._apply_items, items=items, tasks=tasks, retry=tries > 1)
            return self._db.write(apply)

        try:
            # A connection error is retried on a fresh connection for as long as it takes:
            # the batch holds finished work (step results), and fencing refuses it if the
            # lease moved on meanwhile.
            outcome = await outlast(
                attempt, what=partial(_describe, items), give_up=lambda: self._giving_up
            )
        except Exception as error:
            if len(batch) == 1 and not batch[0][1].done():
                batch[0][1].set_exception(error)
            raise
        self.batches += 1
        self.fence.record((i.run_id, i.epoch, i.fence) for i in items if isinstance(i, Write))
        if tasks.events or any(
            isinstance(i, Write) and i.events and o for i, o in zip(items, outcome, strict=True)
        ):
            self._notifier.publish(Topic.EVENT)
        if tasks.changed and self._on_task_writes is not None:
            self._on_task_writes(tasks.offers)
        for (item, future), result in zip(batch, outcome, strict=True):
            if isinstance(item, Write):
                for topic in item.notify if result else ():
                    self._notifier.publish(topic, item.run_id)
                if result is None:
                    result = LeaseLost(f"run {item.run_id} lease lost")
            if future.done():
                continue
            if isinstance(result, LeaseLost):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _apply_items(
        self, conn: Connection, items: list[Item], tasks: _TaskOutcome, retry: bool = False
    ) -> list[Any]:
        writes = [i for i in items if isinstance(i, Write)]
        held = iter(self._apply(conn, writes, tasks, retry) if writes else [])
        return [next(held) if isinstance(i, Write) else i.fn(conn) for i in items]

    def _apply(
        self, conn: Connection, writes: list[Write], tasks: _TaskOutcome, retry: bool
    ) -> list[Lease | None]:
        now = self._clock.now()
        leases = run_queries.lock_leases(conn, {w.run_id for w in writes})
        held: list[Lease | None] = []
        steps: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        artifacts: list[dict[str, Any]] = []
        usage: list[dict[str, Any]] = []
        notes: list[str] = []
        for write in writes:
            lease = leases.get(write.run_id)
            holds = (
                lease is not None
                and lease.status == RunStatus.RUNNING
                and lease.claimed_by == self._worker_id
                and lease.lease_epoch == write.epoch
            )
            write.fence.judge(lease, holds, now)
            if not holds:
                held.append(None)
                continue
            held.append(lease)
            steps += write.steps
            artifacts += write.artifacts
            usage += [{"run_id": write.run_id, "created_at": now, **u} for u in write.usage]
            notes += [payload(t, write.run_id) for t in write.notify]
        if retry and usage:
            # Usage counts only with a step recorded now: a batch retried after a commit
            # whose answer was lost finds its steps there already, and pays nothing twice.
            landed = journal.insert_steps_returning(conn, steps)
            known = {(s["run_id"], s["key"]) for s in steps} - landed
            usage = [u for u in usage if (u["run_id"], u.get("step_key")) not in known]
        else:
            journal.insert_steps(conn, steps)
        journal.insert_artifacts(conn, artifacts)
        journal.insert_usage(conn, usage)
        run_queries.add_usage_totals(conn, _totals(usage))
        held_writes = [w for w, lease in zip(writes, held, strict=True) if lease is not None]
        task_events = _apply_tasks(conn, held_writes, now, tasks)
        for index, write in enumerate(held_writes):  # in the order the runs wrote them
            events += [{"run_id": write.run_id, "created_at": now, **e} for e in write.events]
            events += task_events.get(index, [])
        updates = []
        for write, lease in zip(writes, held, strict=True):
            if lease is None or write.run_values is None:
                continue
            values = {"updated_at": now, **write.run_values}
            if write.unless_signal and journal.nth_signal(conn, write.run_id, *write.unless_signal):
                values.update(status=RunStatus.QUEUED, wait_kind=None, waiting_on=None)
                values.update(claimed_by=None, lease_expires_at=None, due_at=now)
                notes.append(payload(Topic.READY))
            if lease.cancel_requested_at is not None and values.get("status") in _PARKED:
                # A cancel that arrived while the run was parking (its wake-up found no
                # task to interrupt): the run ends here instead of waiting for nothing.
                values = {"updated_at": now, **_cancelled(now)}
                events.append(_cancel_event(write.run_id, now))
                notes.append(payload(Topic.FINISHED, write.run_id))
            updates.append((write.run_id, write.epoch, values))
        run_queries.update_held_many(conn, self._worker_id, updates)
        journal.insert_events(conn, events)
        if tasks.offers and not events:
            notes.append(payload(Topic.EVENT))  # external agents' long polls elsewhere wake on it
        notify(conn, notes)
        return held


# Statuses a run parks in when it leaves its worker without finishing.
_PARKED = (RunStatus.WAITING, RunStatus.PAUSED, RunStatus.QUEUED)


def _cancelled(now: Any) -> dict[str, Any]:
    return finished_values(RunStatus.CANCELLED, now, error="cancelled")


def _cancel_event(run_id: str, now: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "kind": EventKind.CANCELLED,
        "message": "cancelled",
        "data": None,
        "created_at": now,
    }


@dataclass
class _TaskOutcome:
    """What a batch did to tasks, for the wake-ups after its commit."""

    changed: bool = False
    events: int = 0
    offers: bool = False


def _apply_tasks(
    conn: Connection, writes: list[Write], now: Any, outcome: _TaskOutcome
) -> dict[int, list[dict[str, Any]]]:
    """Create and change the tasks of runs whose lease held.

    Returns the events of the changes that landed, by the index of their write.
    """
    changes: list[tuple[int, str, TaskWrite]] = []
    for index, write in enumerate(writes):
        task_queries.insert_tasks(conn, write.task_rows)
        changes += [(index, write.run_id, w) for w in write.task_writes]
        outcome.changed = outcome.changed or bool(write.task_rows or write.task_writes)
    landed = task_queries.apply_writes(conn, [w for _, _, w in changes], now)
    events: dict[int, list[dict[str, Any]]] = {}
    for (index, run_id, change), ok in zip(changes, landed, strict=True):
        if not ok:
            continue
        if change.event is not None:
            event = {"run_id": run_id, "created_at": now, **change.event}
            events.setdefault(index, []).append(event)
            outcome.events += 1
        external = change.values.get("executor") == Executor.EXTERNAL
        outcome.offers = outcome.offers or (change.move.target == TaskStatus.READY and external)
    return events


def _describe(items: list[Item]) -> str:
    """Names the runs of a batch, for the log line of a database fault."""
    run_ids = [i.run_id for i in items if isinstance(i, Write)]
    shown = ", ".join(dict.fromkeys(run_ids[:5]))
    more = f" (+{len(run_ids) - 5})" if len(run_ids) > 5 else ""
    return f"journal write of runs {shown}{more}" if run_ids else "claim"


def finished_values(status: RunStatus, now: Any, **values: Any) -> dict[str, Any]:
    """Run columns for a run that leaves a worker's hands."""
    base: dict[str, Any] = {"status": status, "lease_expires_at": None}
    if status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        base["finished_at"] = now
    if status == RunStatus.QUEUED:
        base["claimed_by"] = None
    return {**base, **values}


def _totals(usage: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-run sums of usage rows; a row without a price marks the run's cost unknown."""
    totals: dict[str, dict[str, Any]] = {}
    for row in usage:
        t = totals.setdefault(
            row["run_id"],
            {
                "run_id": row["run_id"],
                "cost_usd": Decimal(0),
                "cost_unknown": False,
                "input_tokens": 0,
                "output_tokens": 0,
                "cached_tokens": 0,
            },
        )
        if row.get("cost_usd") is None:
            t["cost_unknown"] = True
        else:
            t["cost_usd"] += Decimal(row["cost_usd"])
        for key in ("input_tokens", "output_tokens", "cached_tokens"):
            t[key] += row.get(key) or 0
    return list(totals.values())
