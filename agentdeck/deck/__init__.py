"""Deck: the one facade the API, the CLI and tests use to command and read the engine."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from agentdeck import __version__
from agentdeck.agents.llm_layer import LLMLayer
from agentdeck.clock import Clock, SystemClock
from agentdeck.deck.agents import AgentCatalog
from agentdeck.deck.api_tokens import ApiTokens
from agentdeck.deck.builds import Builds
from agentdeck.deck.costs import Costs
from agentdeck.deck.reruns import Reruns
from agentdeck.deck.schedules import Schedules
from agentdeck.deck.sessions import DashboardSessions
from agentdeck.deck.stacks import Stacks
from agentdeck.deck.submissions import (
    MAX_PRIORITY,
    PRIORITY_HELP,
    Submission,
    check_agents,
    check_cursor,
    check_json,
    check_text,
    run_row,
)
from agentdeck.deck.tasks import TaskBoard
from agentdeck.deck.watch import Watch
from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.domain.events import MAX_EVENT_ID
from agentdeck.domain.gates import GATE_PREFIX, GateDecision
from agentdeck.domain.runs import (
    Artifact,
    Event,
    Run,
    RunFilter,
    RunStatus,
    Step,
    WaitKind,
)
from agentdeck.domain.workers import WorkerRow
from agentdeck.engine.context import MAX_SIGNAL_NAME, Services
from agentdeck.engine.notifier import Notifier, PgListener, Topic
from agentdeck.engine.registry import Registry, Workflow
from agentdeck.engine.worker import Worker, WorkerConfig
from agentdeck.llm.config import LLMConfig
from agentdeck.settings import Settings
from agentdeck.store import journal, transitions
from agentdeck.store import runs as run_queries
from agentdeck.store import workers as worker_queries
from agentdeck.store.database import Database
from agentdeck.store.migrate import upgrade

MAX_PAGE = 500

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """One page of a list; pass `next_cursor` back to get the next."""

    items: list[Run]
    next_cursor: str | None


class Deck:
    """Submit, read and steer runs; start workers. Holds the database and the wake-up hub."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        migrate: bool = True,
    ) -> None:
        self.settings = settings or Settings()
        self.registry = registry or Registry()
        self.clock = clock or SystemClock()
        self.db = Database(
            self.settings.resolved_database_url(),
            sqlite_synchronous=self.settings.sqlite_synchronous,
        )
        # agents.yaml is checked here: a broken file stops the Deck from opening at all
        llm = LLMConfig.from_settings(self.settings)
        self.agents = AgentCatalog(self.db, self.settings, llm=llm, clock=self.clock)
        # the models and the runner this Deck's runs call, handed to them in `services`
        self.llm = LLMLayer(llm, self.agents.directory, tools=self.agents.tools)
        self.costs = Costs(self.db)
        self.watch = Watch(self.db)
        self.reruns = Reruns(self)
        if migrate:
            upgrade(self.db.engine)
        self.notifier = Notifier()
        self._listener: PgListener | None = None
        self._workers: list[Worker] = []
        # The tasks of plan runs: the plan workflow writes them through its worker's
        # writer (ctx.tasks), external agents claim them over the API.
        self.tasks = TaskBoard(self)
        self.sessions = DashboardSessions(self)
        self.api_tokens = ApiTokens(self)  # scoped API tokens: read-only or start-only
        self.services = Services()
        self.llm.provide(self.services)
        self.stacks = Stacks(self)  # stacks of role agents; provides the stack workflow's board
        self.builds = Builds(self)  # repositories and builds; provides the build modes
        self.schedules = Schedules(self)  # workflows submitted on a cron-like spec

    # --- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        """Start cross-process wake-ups (LISTEN on PostgreSQL); call from the event loop."""
        if self.db.is_postgres and self._listener is None:
            url = self.settings.listen_database_url or self.db.url
            self._listener = PgListener(url, self.notifier)
            self._listener.start()

    @property
    def listener(self) -> PgListener | None:
        return self._listener

    async def close(self) -> None:
        for worker in list(self._workers):
            await worker.stop()
        await self.tasks.aclose()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await self.llm.aclose()
        self.db.dispose()

    async def __aenter__(self) -> Deck:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def worker(self, concurrency: int | None = None, **overrides: Any) -> Worker:
        """A worker bound to this deck's database and registry (not yet started)."""
        s = self.settings
        config = WorkerConfig(
            concurrency=concurrency or s.concurrency,
            lease_interval=s.lease_interval,
            heartbeat_interval=s.heartbeat_interval,
            rescue_interval=s.rescue_interval,
            poll_interval=s.poll_interval,
            worker_lost_after=s.worker_lost_after,
            shutdown_grace=s.shutdown_grace,
        )
        config = WorkerConfig(**{**config.__dict__, **overrides})
        worker = Worker(
            self.db,
            self.registry,
            self.notifier,
            self.clock,
            config,
            services=self.services,
            on_task_writes=self.tasks.on_task_writes,
        )
        self._workers.append(worker)
        return worker

    # --- submitting ----------------------------------------------------------

    async def submit(
        self,
        workflow: str,
        inputs: dict[str, Any] | None = None,
        *,
        priority: int = 0,
        not_before: datetime | None = None,
        idempotency_key: str | None = None,
        concurrency_key: str | None = None,
        concurrency_limit: int | None = None,
    ) -> Run:
        """Queue a run; with an idempotency key already used, return that key's run."""
        sub = Submission(
            workflow,
            {} if inputs is None else inputs,
            priority,
            not_before,
            idempotency_key,
            concurrency_key,
            concurrency_limit,
        )
        return (await self.submit_many([sub]))[0]

    async def submit_many(self, submissions: Sequence[Submission]) -> list[Run]:
        """Queue many runs in one transaction; every one is validated before any is written."""
        now = self.clock.now()
        rows = [run_row(self.registry, now, sub) for sub in submissions]
        await check_agents(self.agents, self.registry, rows)
        try:
            result = await self.db.write(lambda conn: transitions.submit_tx(conn, rows))
        except IntegrityError:
            # a concurrent submit with the same idempotency key won the race
            result = await self.db.write(lambda conn: transitions.submit_tx(conn, rows))
        self.notifier.publish(Topic.READY)
        self.notifier.publish(Topic.EVENT)
        return result

    # --- reading -------------------------------------------------------------

    async def get(self, run_id: str) -> Run:
        if "\x00" in run_id:
            raise NotFound(f"no run with id {run_id!r}")
        run = await self.db.read(lambda conn: run_queries.find_run(conn, run_id))
        if run is None:
            raise NotFound(f"no run with id {run_id!r}")
        return run

    async def list(
        self,
        where: RunFilter | None = None,
        *,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        check_cursor(cursor)
        if where is not None:
            for name in ("workflow", "agent", "text", "retry_of"):
                check_text(getattr(where, name), name)
        for status in where.statuses if where else ():
            if status not in RunStatus.__members__.values():
                raise InvalidInput(f"unknown status {status!r}", field="status")
        items = await self.db.read(
            lambda conn: run_queries.list_runs(
                conn, where or RunFilter(), before_id=cursor, limit=limit + 1
            )
        )
        more = len(items) > limit
        items = items[:limit]
        return Page(items, items[-1].id if more else None)

    async def steps(self, run_id: str) -> builtins.list[Step]:
        await self.get(run_id)
        return await self.db.read(lambda conn: journal.list_steps(conn, run_id))

    async def events(
        self, run_id: str | None = None, *, after: int = 0, limit: int = 500
    ) -> builtins.list[Event]:
        if not 0 <= after <= MAX_EVENT_ID:
            raise InvalidInput(f"after must be between 0 and {MAX_EVENT_ID}", field="after")
        if run_id is not None:
            await self.get(run_id)
        return await self.db.read(
            lambda conn: journal.list_events(conn, run_id=run_id, after=after, limit=limit)
        )

    async def last_event_id(self) -> int:
        """The id of the newest event; live streams start after it."""
        return await self.db.read(journal.last_event_id)

    async def artifacts(self, run_id: str) -> builtins.list[Artifact]:
        await self.get(run_id)
        return await self.db.read(lambda conn: journal.list_artifacts(conn, run_id))

    async def artifact(self, artifact_id: str) -> Artifact:
        found = await self.db.read(lambda conn: journal.find_artifact(conn, artifact_id))
        if found is None:
            raise NotFound(f"no artifact with id {artifact_id!r}")
        return found

    async def running_by_worker(self) -> dict[str, int]:
        """How many running runs each worker holds."""
        workers = [w.id for w in await self.workers()]
        return await self.db.read(lambda conn: run_queries.held_by(conn, workers))

    async def workers(self) -> builtins.list[WorkerRow]:
        return await self.db.read(worker_queries.list_workers)

    async def health(self) -> dict[str, Any]:
        """Database reachability, workers alive, version."""
        try:
            counts = await self.db.read(run_queries.count_by_status)
            database = {"ok": True, "dialect": self.db.dialect}
        except Exception as error:
            log.warning("health: the database does not answer (%s)", type(error).__name__)
            counts = {}
            database = {"ok": False, "dialect": self.db.dialect, "error": type(error).__name__}
        alive = [w for w in await self.workers() if w.status == "alive"] if database["ok"] else []
        return {
            "status": "ok" if database["ok"] else "unavailable",
            "version": __version__,
            "database": database,
            "workers": {"alive": len(alive), "ids": [w.id for w in alive]},
            "runs": counts,
        }

    async def wait(self, run_id: str, timeout: float | None = None) -> Run:  # noqa: ASYNC109
        """Return the run once it is finished, waiting or paused; TimeoutError after `timeout`."""
        changed = asyncio.Event()

        def on_notice(topic: Topic, notice_run: str | None) -> None:
            if topic == Topic.FINISHED and notice_run == run_id:
                changed.set()

        unsubscribe = self.notifier.subscribe(on_notice)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed.clear()
                    run = await self.get(run_id)
                    if run.status in (*FINISHED_OR_PARKED,):
                        return run
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            changed.wait(), self.settings.poll_interval.total_seconds()
                        )
        finally:
            unsubscribe()

    # --- steering ------------------------------------------------------------

    async def cancel(self, run_id: str) -> Run:
        """Cancel now: a run not executing ends at once, an executing one is interrupted."""
        return await self._steer(run_id, transitions.cancel_tx, Topic.CANCEL)

    async def pause(self, run_id: str) -> Run:
        """Park the run: at once if not executing, else after its current step."""
        return await self._steer(run_id, transitions.pause_tx, Topic.PAUSE)

    async def resume(self, run_id: str) -> Run:
        """Queue a paused run again; its journal skips the steps it finished."""
        return await self._steer(run_id, transitions.resume_tx, Topic.READY)

    async def retry(self, run_id: str) -> Run:
        """A new run with the same workflow and inputs, linked to this finished one."""
        return await self._steer(run_id, transitions.retry_tx, Topic.READY)

    async def decide(
        self,
        run_id: str,
        gate: str,
        decision: GateDecision | str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Run:
        """Record a person's decision at the gate the run waits on, and queue the run.

        `data` travels with the decision, e.g. `{"budget_usd": 5}` at the `budget` gate.
        """
        try:
            decision = GateDecision(decision)
        except ValueError:
            choices = ", ".join(d.value for d in GateDecision)
            raise InvalidInput(f"decision must be one of {choices}", field="decision") from None
        check_text(gate, "gate")
        check_text(comment, "comment")
        if decision == GateDecision.CHANGES and not (comment and comment.strip()):
            raise InvalidInput("say which changes: a comment is required", field="comment")
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("data must be a JSON object", field="data")
        check_json(data, "data")
        body = {**(data or {}), "decision": decision.value, "comment": comment}
        return await self._steer(
            run_id,
            lambda c, now, r: transitions.signal_tx(c, now, r, gate, body, WaitKind.GATE),
            Topic.READY,
        )

    async def signal(self, run_id: str, name: str, data: Any = None) -> Run:
        """Send an external signal to a run; it is queued if it waits on this name."""
        check_text(name, "name")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_SIGNAL_NAME:
            raise InvalidInput(
                f"a signal name must be 1 to {MAX_SIGNAL_NAME} characters", field="name"
            )
        if name.startswith(GATE_PREFIX):
            raise InvalidInput(
                f"signal names starting with {GATE_PREFIX!r} are reserved: decide a gate instead",
                field="name",
            )
        check_json(data, "signal payload")
        return await self._steer(
            run_id,
            lambda c, now, r: transitions.signal_tx(c, now, r, name, data, None),
            Topic.READY,
        )

    async def _steer(self, run_id: str, change: transitions.Change, topic: Topic) -> Run:
        """One transaction (store/transitions.py), then this process's wake-ups."""
        run, target_id = await self.db.write(
            lambda conn: transitions.steer(conn, self.clock.now(), run_id, change)
        )
        self.notifier.publish(topic, run_id if topic != Topic.READY else None)
        self.notifier.publish(Topic.EVENT)
        if run.status in FINISHED_OR_PARKED:
            self.notifier.publish(Topic.FINISHED, target_id)
        return run


FINISHED_OR_PARKED = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.WAITING,
    RunStatus.PAUSED,
)


def upgrade_database(settings: Settings) -> str:
    """Apply every migration to the configured database; returns its URL."""
    db = Database(settings.resolved_database_url())
    try:
        upgrade(db.engine)
    finally:
        db.dispose()
    return db.url


__all__ = [
    "MAX_EVENT_ID",
    "MAX_PAGE",
    "MAX_PRIORITY",
    "PRIORITY_HELP",
    "Deck",
    "Page",
    "Registry",
    "RunFilter",
    "Submission",
    "Workflow",
    "upgrade_database",
]
