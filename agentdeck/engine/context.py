"""RunContext: what a workflow sees — journaled steps, events, artifacts, sleeps, gates, signals."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

from agentdeck.clock import Clock
from agentdeck.domain import media_types
from agentdeck.domain.errors import AgentdeckError, StepFailed
from agentdeck.domain.events import EventKind
from agentdeck.domain.gates import GateDecision, gate_channel
from agentdeck.domain.ids import new_id
from agentdeck.domain.retry import RetryPolicy
from agentdeck.domain.runs import Claim, RunStatus, Step, WaitKind
from agentdeck.engine.notifier import Topic
from agentdeck.engine.reconnect import outlast
from agentdeck.engine.tasks import RunTasks
from agentdeck.engine.writer import JournalWriter, Write
from agentdeck.store import journal as journal_queries
from agentdeck.store.database import Database
from agentdeck.store.runs import Lease
from agentdeck.store.types import EncodedJSON, encode_json

T = TypeVar("T")

DEFAULT_RETRY = RetryPolicy()
# Column sizes (store/schema.py). PostgreSQL rejects a longer value, and with it
# the whole group-commit batch of every run it shares; SQLite would store it.
MAX_STEP_KEY = 300
MAX_EVENT_KIND = 60
MAX_SIGNAL_NAME = 200


class ServiceKey(Generic[T]):
    """The typed name of a service; modules that provide or use one share the key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"


class Services:
    """What a process hands every run beside the engine's own handles, by key.

    The engine carries them without knowing what they are: the Deck provides the agent
    runner, and workflows read it through `agentdeck.agents.runner_of(ctx)`. Each Deck has
    its own, so two Decks in one process never see each other's (no module-level global).
    Each service is built by its provider when first asked for.
    """

    def __init__(self) -> None:
        self._providers: dict[ServiceKey[Any], Callable[[], Any]] = {}

    def provide(self, key: ServiceKey[T], get: Callable[[], T]) -> None:
        self._providers[key] = get

    def get(self, key: ServiceKey[T]) -> T:
        provider = self._providers.get(key)
        if provider is None:
            raise AgentdeckError(f"no {key.name} here: runs get it from the Deck that runs them")
        return cast("T", provider())


MAX_ARTIFACT_NAME = 300
MAX_MEDIA_TYPE = 100


# The artifacts a step's body stores while it runs: written with the step's result, in
# its transaction, so a step replayed after a crash never stores them a second time.
_STEP_ARTIFACTS: ContextVar[tuple[RunContext, list[dict[str, Any]]] | None] = ContextVar(
    "agentdeck_step_artifacts", default=None
)


class Suspend(BaseException):
    """Raised inside a run to leave the worker: parked, waiting or sleeping.

    A BaseException so that a workflow's `except Exception` cannot swallow it.
    """

    def __init__(self, write: Write) -> None:
        super().__init__("run suspended")
        self.write = write


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one model call; `cost_usd` None means no price is known."""

    agent: str | None
    provider: str | None
    model: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: Decimal | None = None

    def row(self, step_key: str) -> dict[str, Any]:
        return {"step_key": step_key, **self.__dict__}


@dataclass(frozen=True)
class GateResult:
    """A person's decision at a gate."""

    decision: GateDecision
    comment: str | None
    decided_by: str | None = None

    @property
    def approved(self) -> bool:
        return self.decision == GateDecision.APPROVE


def to_json(value: Any, what: str) -> EncodedJSON:
    """Encode once, here, so a value that is not JSON fails its own run, not a write batch.

    allow_nan=False: NaN/Infinity are not JSON; SQLite would store them and
    PostgreSQL's jsonb would reject the whole batch they are part of.
    """
    try:
        return encode_json(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} must be JSON-serialisable: {error}") from None


class RunContext:
    """The handle a workflow function gets; everything durable goes through it.

    Workflows must be deterministic functions of their inputs and of what their
    steps return: on resume the journal replays finished steps, so the code
    walks the same path without executing them again.
    """

    def __init__(
        self,
        run: Claim,
        journal: dict[str, Step],
        writer: JournalWriter,
        db: Database,
        clock: Clock,
        services: Services | None = None,
    ) -> None:
        self.run = run
        self._journal = journal
        self._writer = writer
        self._db = db
        self._clock = clock
        self.services = services or Services()
        self.tasks = RunTasks(run, writer, db)
        self._seen: set[str] = set()
        self._counters: dict[str, int] = {}
        self.pause_requested = run.pause_requested_at is not None

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def inputs(self) -> dict[str, Any]:
        return self.run.inputs

    def now(self) -> datetime:
        return self._clock.now()

    def is_replayed(self, key: str) -> bool:
        """True when `key` already has a journaled result."""
        return key in self._journal

    # --- steps -------------------------------------------------------------

    async def step(
        self,
        key: str,
        fn: Callable[[], Awaitable[T] | T],
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        usage: Callable[[T], list[Usage]] | None = None,
    ) -> T:
        """Run `fn` once and journal its (JSON) result; on replay return the stored result.

        `usage`, given the result, names the model calls it paid for; those rows
        commit in the same transaction as the result, so a cost is never counted
        twice nor lost.
        """
        _check_length(key, MAX_STEP_KEY, "a step key")
        if key in self._seen:
            raise ValueError(f"step key {key!r} used twice in one run; keys must be unique")
        self._seen.add(key)
        recorded = self._journal.get(key)
        if recorded is not None:
            if recorded.status == "failed":
                raise StepFailed(key, recorded.error or "", recorded.attempts)
            self._park_if_pause_requested()
            return recorded.result  # type: ignore[no-any-return]
        started_at = self.now()
        attempt = 0
        while True:
            attempt += 1
            staged: list[dict[str, Any]] = []  # a retried body stores its artifacts afresh
            token = _STEP_ARTIFACTS.set((self, staged))
            try:
                result = fn()
                if inspect.isawaitable(result):
                    result = await result
                encoded = to_json(result, f"the result of step {key!r}")
                break
            except Exception as error:
                text = f"{type(error).__name__}: {error}"
                if retry.is_transient(error) and attempt < retry.max_attempts:
                    delay = retry.backoff(attempt)
                    self.emit(
                        EventKind.STEP_RETRY,
                        f"step {key} failed ({text}); "
                        f"retry {attempt + 1} in {delay.total_seconds():.2f}s",
                        step=key,
                        attempt=attempt,
                    )
                    await asyncio.sleep(delay.total_seconds())
                    continue
                # what the body stored (a log of what went wrong) is kept with its failure
                await self._record(key, "failed", None, text, attempt, started_at, artifacts=staged)
                raise StepFailed(key, text, attempt) from error
            finally:
                _STEP_ARTIFACTS.reset(token)
        rows = [u.row(key) for u in usage(result)] if usage else None
        lease = await self._record(
            key,
            "succeeded",
            result,
            None,
            attempt,
            started_at,
            rows,
            encoded=encoded,
            artifacts=staged,
        )
        self.pause_requested = self.pause_requested or lease.pause_requested_at is not None
        self._park_if_pause_requested()
        return result

    async def _record(
        self,
        key: str,
        status: str,
        result: Any,
        error: str | None,
        attempts: int,
        started_at: datetime,
        usage: list[dict[str, Any]] | None = None,
        *,
        encoded: EncodedJSON | None = None,
        artifacts: list[dict[str, Any]] | None = None,
    ) -> Lease:
        row = {
            "run_id": self.run.id,
            "key": key,
            "status": status,
            "result": encoded if encoded is not None else result,
            "error": error,
            "attempts": attempts,
            "started_at": started_at,
            "finished_at": self.now(),
        }
        events = []
        if status == "failed":
            events.append(_event(EventKind.STEP_FAILED, f"step {key} failed: {error}", step=key))
        write = self._write(
            steps=[row], events=events, usage=usage or [], artifacts=artifacts or []
        )
        lease = await self._writer.write(write)
        self._journal[key] = Step(**{**row, "result": result})
        return lease

    def _park_if_pause_requested(self) -> None:
        if self.pause_requested:
            raise Suspend(
                self._write(
                    run_values={"status": RunStatus.PAUSED, "lease_expires_at": None},
                    events=[_event(EventKind.PAUSED, "paused after the current step")],
                    notify=[Topic.FINISHED],
                )
            )

    # --- progress, events and artifacts ---------------------------------------

    _PROGRESS_FIELDS = frozenset({"stage", "attempt", "score", "verdict", "progress"})

    async def set_progress(self, **fields: Any) -> None:
        """Record where the run stands (stage, attempt, score, verdict, progress 0..1).

        Like `emit`, it does not wait for the commit: writes of a run are applied in
        order, so the progress lands before anything the run writes after it.
        """
        unknown = set(fields) - self._PROGRESS_FIELDS
        if unknown:
            raise TypeError(f"set_progress() got unknown fields {sorted(unknown)}")
        self._writer.send(self._write(run_values=fields)).add_done_callback(_ignore_outcome)

    def emit(self, kind: str, message: str | None = None, **data: Any) -> None:
        """Append an event to the run's log; committed with the next batch, in order."""
        _check_length(kind, MAX_EVENT_KIND, "an event kind")
        event = {"kind": str(kind), "message": message, "data": to_json(data, "event data")}
        future = self._writer.send(self._write(events=[event]))
        future.add_done_callback(_ignore_outcome)

    async def artifact(
        self,
        name: str,
        content: str,
        *,
        media_type: str = "text/markdown",
        attempt: int | None = None,
    ) -> str:
        """Store content the run produced; returns the artifact's id.

        Inside a step's body the artifact is written with the step's result, in one
        transaction; elsewhere it is a step of its own (`artifact:<name>`). Either way a
        replayed run stores it once, and a name is stored once per run (the first wins).
        """
        _check_length(name, MAX_ARTIFACT_NAME, "an artifact name")
        _check_length(media_type, MAX_MEDIA_TYPE, "a media type")
        media_types.check(media_type)
        artifact_id = new_id("art")
        row = {
            "id": artifact_id,
            "run_id": self.run.id,
            "name": name,
            "media_type": media_type,
            "content": content,
            "attempt": attempt,
            "size": len(content.encode()),
            "created_at": self.now(),
        }
        current = _STEP_ARTIFACTS.get()
        if current is not None and current[0] is self:
            current[1].append(row)
            return artifact_id
        key = f"artifact:{name}"
        if len(key) > MAX_STEP_KEY:
            key = f"artifact:{hashlib.sha256(name.encode()).hexdigest()}"
        if key in self._seen:
            raise ValueError(f"artifact {name!r} stored twice in one run; names must be unique")
        return await self.step(
            key, lambda: self.artifact(name, content, media_type=media_type, attempt=attempt)
        )

    # --- waiting without holding a worker slot -----------------------------

    def _next(self, name: str) -> int:
        n = self._counters.get(name, 0)
        self._counters[name] = n + 1
        return n

    async def sleep(self, duration: timedelta) -> None:
        """A durable sleep: the run leaves the worker and is queued again when it is due."""
        key = f"sleep:{self._next('sleep')}"
        recorded = self._journal.get(key)
        if recorded is None:
            wake_at = self.now() + duration
            started = self.now()
            await self._record(key, "succeeded", wake_at.isoformat(), None, 1, started)
        else:
            wake_at = datetime.fromisoformat(recorded.result)
        if self.now() >= wake_at:
            return
        raise Suspend(
            self._write(
                run_values={
                    "status": RunStatus.WAITING,
                    "wait_kind": WaitKind.TIMER,
                    "waiting_on": None,
                    "due_at": wake_at,
                    "lease_expires_at": None,
                },
                events=[_event(EventKind.WAITING, f"sleeping until {wake_at.isoformat()}")],
                notify=[Topic.FINISHED, Topic.READY],
            )
        )

    async def wait_for_signal(self, name: str, *, kind: WaitKind = WaitKind.SIGNAL) -> Any:
        """Wait for the next signal of this name; the run holds no slot meanwhile."""
        _check_length(name, MAX_SIGNAL_NAME, "a signal or gate name")
        channel = gate_channel(name) if kind == WaitKind.GATE else name
        n = self._next(f"signal:{channel}")
        key = f"signal:{channel}:{n}"
        recorded = self._journal.get(key)
        if recorded is not None:
            return recorded.result
        arrived = await outlast(
            lambda: self._db.read(
                lambda conn: journal_queries.nth_signal(conn, self.run.id, channel, n)
            ),
            what=f"run {self.run.id}: reading signal {channel}",
        )
        if arrived is not None:
            started = self.now()
            await self._record(key, "succeeded", arrived["payload"], None, 1, started)
            return arrived["payload"]
        opened = EventKind.GATE_OPENED if kind == WaitKind.GATE else EventKind.WAITING
        raise Suspend(
            self._write(
                run_values={
                    "status": RunStatus.WAITING,
                    "wait_kind": kind,
                    "waiting_on": name,
                    "lease_expires_at": None,
                },
                events=[_event(opened, f"waiting for {kind} {name}", name=name)],
                unless_signal=(channel, n),
                notify=[Topic.FINISHED],
            )
        )

    async def wait_for_gate(self, name: str) -> GateResult:
        """Wait for a person to approve, reject or request changes at gate `name`."""
        decision = await self.wait_for_signal(name, kind=WaitKind.GATE)
        return GateResult(
            GateDecision(decision["decision"]), decision.get("comment"), decision.get("by")
        )

    def _write(self, **parts: Any) -> Write:
        notify = parts.get("notify")
        if self.run.concurrency_key and notify and Topic.READY not in notify:
            # the run leaves its key's slot: a run waiting for that key may start
            parts["notify"] = [*notify, Topic.READY]
        return Write(run_id=self.run.id, epoch=self.run.lease_epoch, **parts)


def _check_length(value: str, limit: int, what: str) -> None:
    """Refuse a name its column cannot hold, before it joins a shared write batch."""
    if not value or len(value) > limit:
        raise ValueError(
            f"{what} must be 1 to {limit} characters, not {len(value)}: {value[:40]!r}"
        )


def _event(kind: str, message: str | None = None, **data: Any) -> dict[str, Any]:
    return {"kind": str(kind), "message": message, "data": data or None}


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it; LeaseLost shows elsewhere
