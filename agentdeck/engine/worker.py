"""Worker: claims runs, executes them concurrently, heartbeats their leases, stops gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection

from agentdeck import __version__
from agentdeck.clock import Clock
from agentdeck.domain.errors import LeaseLost
from agentdeck.domain.events import EventKind
from agentdeck.domain.ids import new_id
from agentdeck.domain.runs import Claim, RunStatus, Step
from agentdeck.engine.collector import tune_collector
from agentdeck.engine.context import RunContext, Services, Suspend, to_json
from agentdeck.engine.fencing import FenceCounts
from agentdeck.engine.notifier import Notifier, Topic
from agentdeck.engine.registry import Registry
from agentdeck.engine.rescuer import Rescuer, release_given_up
from agentdeck.engine.schedules import Scheduler
from agentdeck.engine.writer import JournalWriter, Write, finished_values
from agentdeck.store import concurrency, journal
from agentdeck.store import runs as run_queries
from agentdeck.store import workers as worker_queries
from agentdeck.store.database import Database, is_connection_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """Timing of one worker; tests shorten every interval."""

    concurrency: int = 100
    lease_interval: timedelta = timedelta(seconds=30)
    heartbeat_interval: timedelta = timedelta(seconds=5)
    rescue_interval: timedelta = timedelta(seconds=5)
    poll_interval: timedelta = timedelta(seconds=2)
    worker_lost_after: timedelta = timedelta(seconds=60)
    shutdown_grace: timedelta = timedelta(seconds=30)


class Worker:
    """Executes runs from the queue: up to `concurrency` at once, each an asyncio task.

    The fast path is push: a READY wake-up (submit, rescue, a due timer) makes
    it claim at once, up to its free capacity in one statement. Polling every
    `poll_interval` only covers wake-ups that never arrived.
    """

    def __init__(
        self,
        db: Database,
        registry: Registry,
        notifier: Notifier,
        clock: Clock,
        config: WorkerConfig,
        *,
        services: Services | None = None,
        on_task_writes: Callable[[bool], None] | None = None,
    ) -> None:
        self.id = f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"
        self.config = config
        self._db = db
        self._registry = registry
        self._notifier = notifier
        self._clock = clock
        self._services = services or Services()
        self._writer = JournalWriter(db, notifier, clock, self.id, on_task_writes)
        self._rescuer = Rescuer(db, notifier, clock, config.worker_lost_after)
        self.scheduler = Scheduler(db, registry, notifier, clock)  # fired from the rescue loop
        self._active: dict[str, asyncio.Task[None]] = {}
        self._contexts: dict[str, RunContext] = {}
        self._cancel_reasons: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._backlog = False
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        self._claiming: asyncio.Task[None] | None = None
        self._finishing: set[str] = set()
        # runs this worker gave up without writing how they ended (run id -> epoch):
        # released to the queue by the next heartbeat that reaches the database
        self._abandoned: dict[str, int] = {}
        self._beat_ok = True
        self._unsubscribe = notifier.subscribe(self._on_notice)
        self._started = False
        self._timers_checked_at = datetime.min.replace(tzinfo=UTC)
        self._next_due_at: datetime | None = None
        self.claimed = 0

    @property
    def active(self) -> int:
        return len(self._active)

    @property
    def fence(self) -> FenceCounts:
        """This worker's writes that reached the fence, and those it refused."""
        return self._writer.fence.counts

    def _free_slots(self) -> int:
        return self.config.concurrency - len(self._active) + len(self._finishing)

    # --- life cycle ----------------------------------------------------------

    async def start(self, *, loops: bool = True) -> None:
        """Register this worker; with `loops`, claim, heartbeat and rescue in the background."""
        now = self._clock.now()
        row = {
            "id": self.id,
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "concurrency": self.config.concurrency,
            "status": "alive",
            "version": __version__,
            "started_at": now,
            "heartbeat_at": now,
        }
        await self._db.write(lambda conn: worker_queries.register(conn, row))
        await self._rescuer.rescue_gone(socket.gethostname(), self.id)
        tune_collector()
        self._writer.start()
        self._started = True
        if loops:
            self._claiming = asyncio.create_task(self._claim_loop(), name="agentdeck-claim")
            for name, loop in (
                ("heartbeat", self._heartbeat_loop),
                ("rescue", self._rescue_loop),
            ):
                self._loops.append(asyncio.create_task(loop(), name=f"agentdeck-{name}"))

    async def stop(self, grace: timedelta | None = None) -> None:
        """Stop claiming; let runs finish for `grace`, then release the rest to the queue."""
        if not self._started:
            return
        self._stopping = True
        self._wake.set()
        grace = self.config.shutdown_grace if grace is None else grace
        if self._claiming is not None:
            # Not cancelled: a claim in flight would commit with nobody to run what it took.
            # It may be retrying while the database is away: past the grace, it gives up.
            done, _ = await asyncio.wait([self._claiming], timeout=grace.total_seconds())
            if not done:
                self._writer.give_up()
                await self._claiming
        if self._active:
            await asyncio.wait(list(self._active.values()), timeout=grace.total_seconds())
        # Past the grace a database still away is not waited for: the runs' leases expire.
        self._writer.give_up()
        for run_id in list(self._active):
            self._cancel(run_id, "shutdown")
        if self._active:
            await asyncio.wait(list(self._active.values()))
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._writer.stop()
        log.info("worker %s stopped; fencing: %s", self.id, self._writer.fence.counts)
        self._unsubscribe()
        try:
            await self._db.write(lambda conn: worker_queries.stop(conn, self.id, self._clock.now()))
        except Exception as error:
            if not is_connection_error(error):
                raise
            log.warning("worker %s stopped without reaching the database: %s", self.id, error)
        self._started = False

    # --- wake-ups and control ------------------------------------------------

    def _on_notice(self, topic: Topic, run_id: str | None) -> None:
        if topic == Topic.READY:
            self._wake.set()
        elif run_id is not None and run_id in self._active:
            if topic == Topic.CANCEL:
                self._cancel(run_id, "cancel")
            elif topic == Topic.PAUSE:
                self._contexts[run_id].pause_requested = True

    def _cancel(self, run_id: str, reason: str) -> None:
        task = self._active.get(run_id)
        if task is not None and run_id not in self._cancel_reasons:
            self._cancel_reasons[run_id] = reason
            task.cancel()

    # --- claiming --------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due now and execute it to its end or its next wait; for tests."""
        claimed = await self._claim(self._free_slots())
        tasks = [self._active[r.id] for r in claimed if r.id in self._active]
        if tasks:
            await asyncio.wait(tasks)
        await self._writer.flush()
        return len(claimed)

    async def drain(self) -> int:
        """run_once until nothing is due; returns how many claims were made."""
        total = 0
        while (n := await self.run_once()) > 0:
            total += n
        return total

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self._free_slots()
            timeout = self.config.poll_interval.total_seconds()
            if free > 0:
                try:
                    claimed, next_due, until = await self._writer.ride(
                        partial(self._claim_tx, limit=free)
                    )
                except Exception as error:
                    _log_failure(error, "claim failed; retrying after the poll interval")
                    claimed, next_due, until = [], None, self._clock.now()
                self._start_runs(claimed, until)
                self._backlog = len(claimed) == free
                if self._backlog:
                    continue
                if next_due is not None:
                    until_due = (next_due - self._clock.now()).total_seconds()
                    timeout = max(0.0, min(timeout, until_due))
            # asyncio.timeout, not wait_for: no extra task, so a wake-up resumes this
            # loop in the same tick as the writes that caused it
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _claim(self, limit: int) -> list[Claim]:
        if limit <= 0:
            return []
        claimed, _, until = await self._writer.ride(partial(self._claim_tx, limit=limit))
        self._start_runs(claimed, until)
        return [run for run, _ in claimed]

    def _claim_tx(
        self, conn: Connection, limit: int
    ) -> tuple[list[tuple[Claim, dict[str, Step]]], datetime | None, datetime]:
        """Claim up to `limit` runs; also returns the next due time and the leases' expiry."""
        now = self._clock.now()
        lease_expires_at = now + self.config.lease_interval
        # Timers are checked when one is due or once per poll interval (a sleep
        # started by another process), not on every claim: that would double its cost.
        if now >= self._timers_checked_at + self.config.poll_interval or (
            self._next_due_at is not None and now >= self._next_due_at
        ):
            run_queries.promote_due_timers(conn, now)
            self._timers_checked_at = now
        claimed = run_queries.claim(
            conn,
            worker_id=self.id,
            limit=limit,
            now=now,
            lease_expires_at=lease_expires_at,
        )
        if len(claimed) < limit:  # only then: runs without a key pay nothing for keys
            claimed += concurrency.claim_keyed(
                conn,
                worker_id=self.id,
                limit=limit - len(claimed),
                now=now,
                lease_expires_at=lease_expires_at,
            )
        # A run's first claim has epoch 1 and cannot have steps yet.
        resumed = [r.id for r in claimed if r.lease_epoch > 1]
        journals = journal.load_steps(conn, resumed) if resumed else {}
        journal.insert_events(
            conn,
            [
                {
                    "run_id": r.id,
                    "kind": EventKind.STARTED,
                    "message": f"claimed by {self.id}",
                    "data": {"worker": self.id, "epoch": r.lease_epoch},
                    "created_at": now,
                }
                for r in claimed
            ],
        )
        next_due = run_queries.next_due_at(conn, now) if len(claimed) < limit else None
        self._next_due_at = next_due
        return [(r, journals.get(r.id, {})) for r in claimed], next_due, lease_expires_at

    def _start_runs(
        self, claimed: list[tuple[Claim, dict[str, Step]]], lease_until: datetime
    ) -> None:
        if claimed:
            self._notifier.publish(Topic.EVENT)  # each claim recorded a run.started event
        self.claimed += len(claimed)
        for run, steps in claimed:
            self._writer.fence.note_lease(run.id, lease_until)
            context = RunContext(run, steps, self._writer, self._db, self._clock, self._services)
            self._contexts[run.id] = context
            self._active[run.id] = asyncio.create_task(self._execute(context), name=run.id)

    # --- executing ---------------------------------------------------------

    async def _execute(self, ctx: RunContext) -> None:
        run = ctx.run
        try:
            write = await self._outcome(ctx)
            if write is not None:
                # The run does no more work: its slot counts as free now, so the
                # next claim can ride in the same transaction as this last write.
                self._finishing.add(run.id)
                if self._backlog:
                    self._wake.set()
                await self._write_outcome(run, write)
        except asyncio.CancelledError:
            pass  # cancelled again while writing the outcome: the rescuer takes over
        finally:
            self._finishing.discard(run.id)
            self._writer.fence.forget_lease(run.id)
            self._active.pop(run.id, None)
            self._contexts.pop(run.id, None)
            self._cancel_reasons.pop(run.id, None)
            if self._backlog:
                self._wake.set()

    async def _write_outcome(self, run: Claim, write: Write) -> None:
        """Write how the run ended; if the database refuses it, fail the run saying why.

        A run the database will not take the end of (a result PostgreSQL cannot store)
        would fail the same way each time it ran again: it fails once, with the reason.
        If even that cannot be written, the run is given back to the queue at once.
        """
        try:
            await self._writer.write(write)
            return
        except LeaseLost:
            return  # another worker holds the run now
        except Exception as error:
            refused = error
        text = f"the database refused how the run ended: {type(refused).__name__}: {refused}"
        log.error("run %s: %s", run.id, text)
        if not is_connection_error(refused):
            failed = _final(run, RunStatus.FAILED, self._clock.now(), EventKind.FAILED, text[:2000])
            failed.run_values = {**(failed.run_values or {}), "error": text[:2000]}
            try:
                await self._writer.write(failed)
                return
            except LeaseLost:
                return
            except Exception as again:
                log.error("run %s: not even its failure could be written: %s", run.id, again)
        self._abandoned[run.id] = run.lease_epoch

    async def _outcome(self, ctx: RunContext) -> Write | None:
        """Run the workflow; return the write that records how it ended (None: write nothing)."""
        run = ctx.run
        now = self._clock.now
        try:
            workflow = self._registry.get(run.workflow)
            result = await workflow.fn(ctx, run.inputs)
            encoded = to_json(result, "a workflow's result")
            return _final(
                run, RunStatus.SUCCEEDED, now(), EventKind.SUCCEEDED, None, result=encoded
            )
        except Suspend as suspend:
            return suspend.write
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            reason = self._cancel_reasons.get(run.id)
            if reason == "cancel":
                return _final(
                    run,
                    RunStatus.CANCELLED,
                    now(),
                    EventKind.CANCELLED,
                    "cancelled",
                    error="cancelled",
                )
            if reason == "shutdown":
                return _final(
                    run,
                    RunStatus.QUEUED,
                    now(),
                    EventKind.RELEASED,
                    "released by a stopping worker",
                    due_at=now(),
                )
            return None  # lease lost: another worker owns the run now
        except LeaseLost:
            return None
        except Exception as error:
            if is_connection_error(error):
                # The database's fault, not the run's (the writer gave up on it only
                # because the worker is stopping): released, never recorded as failed.
                log.warning("run %s: given up on a database fault: %s", run.id, error)
                self._abandoned[run.id] = run.lease_epoch
                return None
            text = f"{type(error).__name__}: {error}"
            log.info("run %s failed: %s", run.id, text)
            return _final(run, RunStatus.FAILED, now(), EventKind.FAILED, text, error=text)

    # --- background loops ----------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval.total_seconds())
            try:
                await self.heartbeat()
                self._beat_ok = True
            except Exception as error:
                self._beat_ok = False
                _log_failure(error, "heartbeat failed")

    async def heartbeat(self) -> None:
        """Renew the leases of the runs in hand in one statement; stop those whose lease is gone.

        Only runs in hand before the statement are judged: one claimed while it
        was in flight is not in its answer, and is not lost.
        """
        executing = {run_id: ctx.run.lease_epoch for run_id, ctx in self._contexts.items()}
        abandoned = dict(self._abandoned)

        def beat(conn: Connection) -> tuple[datetime, list[run_queries.Lease]]:
            now = self._clock.now()
            until = now + self.config.lease_interval
            worker_queries.beat(conn, self.id, now)
            if abandoned:
                release_given_up(conn, self.id, abandoned, now)
            leases = run_queries.heartbeat(
                conn,
                worker_id=self.id,
                run_ids=list(executing),
                now=now,
                lease_expires_at=until,
            )
            return until, leases

        until, leases = await self._db.write(beat)
        held = {lease.run_id: lease for lease in leases}
        if abandoned:
            for run_id in abandoned:
                self._abandoned.pop(run_id, None)
            self._notifier.publish(Topic.READY)
            self._notifier.publish(Topic.EVENT)
        for run_id, epoch in executing.items():
            ctx = self._contexts.get(run_id)
            if ctx is None or ctx.run.lease_epoch != epoch:
                continue  # finished, or claimed again, while the heartbeat was in flight
            lease = held.get(run_id)
            if lease is None or lease.lease_epoch != epoch:
                self._cancel(run_id, "lease_lost")
                continue
            self._writer.fence.note_lease(run_id, until)
            if lease.cancel_requested_at is not None:
                self._cancel(run_id, "cancel")
            elif lease.pause_requested_at is not None:
                ctx.pause_requested = True

    async def _rescue_loop(self) -> None:
        while True:
            # After an outage, this worker's own leases may have run out while it could not
            # renew them: rescue only once a heartbeat has renewed what it still executes.
            try:
                if self._beat_ok:
                    await self._rescuer.rescue()
                    await self.scheduler.fire()
            except Exception as error:
                _log_failure(error, "rescue failed")
            await asyncio.sleep(self.config.rescue_interval.total_seconds())


def _log_failure(error: Exception, what: str) -> None:
    """One line for a database fault (expected in an outage), a traceback for anything else."""
    if is_connection_error(error):
        log.warning("%s: database unavailable (%s)", what, type(error).__name__)
    else:
        log.error("%s", what, exc_info=error)


def _final(
    run: Claim, status: RunStatus, now: datetime, kind: str, message: str | None, **values: Any
) -> Write:
    return Write(
        run_id=run.id,
        epoch=run.lease_epoch,
        run_values=finished_values(status, now, **values),
        events=[{"kind": str(kind), "message": message, "data": None}],
        notify=[Topic.READY if status == RunStatus.QUEUED else Topic.FINISHED]
        # a keyed run frees its key's slot: a run waiting for that key may start now
        + ([Topic.READY] if run.concurrency_key and status != RunStatus.QUEUED else []),
    )
