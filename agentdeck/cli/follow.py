"""Following a run in the terminal: a live Rich display of its stage, attempt, score, cost and time.

The display reads the same things whether the run is followed in this process (the
database and the deck's wake-ups) or on a server (its SSE stream): the run, as a
RunView, and its events, printed one line each above the live panel.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agentdeck.cli.remote import RemoteDeck, RemoteError
from agentdeck.deck import Deck
from agentdeck.domain.runs import FINISHED, Run
from agentdeck.domain.topics import Topic

REFRESH_INTERVAL = 0.25  # seconds between redraws of the elapsed time
REMOTE_POLL_INTERVAL = 1.0  # seconds between reads of a remote run
FINISHED_STATUSES = frozenset(s.value for s in FINISHED)
_STYLE = {
    "stage.changed": "bold cyan",
    "score": "bold",
    "verdict": "bold magenta",
    "attempt.best": "magenta",
    "error": "bold red",
    "step.failed": "red",
    "run.failed": "bold red",
    "run.succeeded": "bold green",
    "run.cancelled": "yellow",
    "llm.answered": "dim",
    "llm.attempt_failed": "yellow",
}


@dataclass(frozen=True)
class RunView:
    """What the display shows of a run, read from a Run or from the API's JSON."""

    id: str
    workflow: str
    status: str
    stage: str | None
    attempt: int | None
    max_attempts: int | None
    score: float | None
    threshold: float | None
    verdict: str | None
    error: str | None
    cost_usd: str | None
    tokens: int
    created_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def passed(self) -> bool:
        """Succeeded, and not judged failed by its workflow."""
        return self.status == "succeeded" and self.verdict != "failed"

    @classmethod
    def of_run(cls, run: Run) -> RunView:
        inputs = run.inputs if isinstance(run.inputs, dict) else {}
        return cls(
            id=run.id,
            workflow=run.workflow,
            status=str(run.status),
            stage=run.stage,
            attempt=run.attempt,
            max_attempts=_int(inputs.get("max_attempts")),
            score=run.score,
            threshold=_float(inputs.get("pass_threshold")),
            verdict=run.verdict,
            error=run.error,
            cost_usd=None if run.cost_unknown else f"{run.cost_usd:f}",
            tokens=run.input_tokens + run.output_tokens,
            created_at=run.created_at,
            finished_at=run.finished_at,
        )

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> RunView:
        """From the API's RunOut."""
        inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
        return cls(
            id=str(data["id"]),
            workflow=str(data.get("workflow", "")),
            status=str(data.get("status", "")),
            stage=data.get("current_stage"),
            attempt=_int(data.get("current_attempt")),
            max_attempts=_int(data.get("max_attempts", (inputs or {}).get("max_attempts"))),
            score=_float(data.get("score")),
            threshold=_float(data.get("pass_threshold", (inputs or {}).get("pass_threshold"))),
            verdict=data.get("verdict"),
            error=data.get("error"),
            cost_usd=data.get("cost_usd"),
            tokens=int(data.get("input_tokens") or 0) + int(data.get("output_tokens") or 0),
            created_at=_time(data.get("created_at")),
            finished_at=_time(data.get("finished_at")),
        )

    def elapsed(self) -> float | None:
        if self.created_at is None:
            return None
        end = self.finished_at or datetime.now(UTC)
        return max(0.0, (end - self.created_at).total_seconds())


class Display:
    """The live panel and the event lines above it; `finish` prints the outcome."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.view: RunView | None = None
        self._live: Live | None = None

    def __enter__(self) -> Display:
        self._live = Live(
            get_renderable=self.render,
            console=self.console,
            refresh_per_second=1 / REFRESH_INTERVAL,
            transient=True,  # the summary printed by finish() replaces it
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def update(self, view: RunView) -> None:
        self.view = view

    def event(self, kind: str, message: str | None, data: Any = None) -> None:
        """One line for an event worth reading: stage changes, scores, errors, outcomes."""
        if not message and not data:
            return
        style = _STYLE.get(kind, "")
        line = Text(f"{kind:<15} ", style=style or "dim")
        line.append(message or _describe(data), style=style)
        self.console.print(line)

    def render(self) -> RenderableType:
        view = self.view
        if view is None:
            return Text("waiting for the run…", style="dim")
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        table.add_row("run", f"{view.id} ({escape(view.workflow)})")
        table.add_row("status", _status_text(view))
        if view.stage or view.attempt:
            table.add_row("stage", escape(view.stage or "—"))
            table.add_row("attempt", _attempt_text(view))
        if view.score is not None:
            table.add_row("score", _score_text(view))
        table.add_row("cost", _cost_text(view))
        elapsed = view.elapsed()
        table.add_row("time", f"{elapsed:.1f} s" if elapsed is not None else "—")
        return Group(table)

    def finish(self, view: RunView) -> int:
        """Print the outcome; the exit code: 0 when the run passed, 1 otherwise."""
        self.view = view
        parts = [f"verdict: {view.verdict}" if view.verdict else f"status: {view.status}"]
        if view.attempt is not None:
            parts.append(_attempt_text(view))
        if view.score is not None:
            parts.append(f"score {_score_text(view)}")
        parts.append(_cost_text(view))
        elapsed = view.elapsed()
        if elapsed is not None:
            parts.append(f"{elapsed:.1f} s")
        style = "bold green" if view.passed else "bold red"
        self.console.print(Text(" · ".join(parts), style=style))
        if view.error and not view.passed and view.verdict != "failed":  # else said above
            self.console.print(Text(f"error: {view.error}", style="red"))
        self.console.print(Text(f"run {view.id}", style="dim"))
        return 0 if view.passed else 1


# --- following ----------------------------------------------------------------------


async def follow_local(deck: Deck, run_id: str, display: Display) -> RunView:
    """Follow a run through the database until it finishes; returns its final view."""
    wake = asyncio.Event()

    def on_notice(topic: Topic, _run: str | None) -> None:
        if topic in (Topic.EVENT, Topic.FINISHED):
            wake.set()

    unsubscribe = deck.notifier.subscribe(on_notice)
    after = 0
    try:
        while True:
            wake.clear()
            # the run first, then its events: a finished run's last events are then read
            view = RunView.of_run(await deck.get(run_id))
            for event in await deck.events(run_id, after=after):
                after = event.id
                display.event(event.kind, event.message, event.data)
            display.update(view)
            if view.finished:
                return view
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), REFRESH_INTERVAL)
    finally:
        unsubscribe()


async def follow_remote(remote: RemoteDeck, run_id: str, display: Display) -> RunView:
    """Follow a run on a server through its SSE stream until it finishes."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    reader = asyncio.create_task(_read_events(remote, run_id, queue))
    clock = asyncio.get_running_loop().time
    try:
        view = RunView.of_json(await remote.get(run_id))
        display.update(view)
        last_read = clock()
        ended_at: float | None = None  # when the run was first seen finished
        while True:
            try:
                event: dict[str, Any] | None = await asyncio.wait_for(queue.get(), REFRESH_INTERVAL)
            except TimeoutError:
                event = None
            if event is not None:
                kind = str(event.get("kind") or "")
                display.event(kind, event.get("message"), event.get("data"))
                if kind in _FINAL_KINDS:
                    return RunView.of_json(await remote.get(run_id))
            if event is not None or clock() - last_read >= REMOTE_POLL_INTERVAL:
                view = RunView.of_json(await remote.get(run_id))
                display.update(view)
                last_read = clock()
            if view.finished:
                # its final event is on the way: wait for it a little, not forever
                ended_at = ended_at or clock()
                if clock() - ended_at > FINAL_EVENT_WAIT and queue.empty():
                    return view
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


_FINAL_KINDS = frozenset({"run.succeeded", "run.failed", "run.cancelled"})
FINAL_EVENT_WAIT = 2.0


async def _read_events(
    remote: RemoteDeck, run_id: str, queue: asyncio.Queue[dict[str, Any]]
) -> None:
    """Copy the run's events into `queue`: from its SSE stream, else by polling for them."""
    after = 0
    try:
        async for event in remote.events(run_id):
            after = max(after, int(event.get("id") or 0))
            await queue.put(event)
    except RemoteError:
        pass  # no live stream on this server: poll
    while True:
        with contextlib.suppress(RemoteError):
            for event in await remote.events_after(run_id, after):
                after = max(after, int(event.get("id") or 0))
                await queue.put(event)
        await asyncio.sleep(REMOTE_POLL_INTERVAL)


# --- small pieces -----------------------------------------------------------------------


def _status_text(view: RunView) -> str:
    colour = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}
    status = f"[{colour.get(view.status, 'white')}]{view.status}[/]"
    return status + (f" · verdict [bold]{escape(view.verdict)}[/]" if view.verdict else "")


def _attempt_text(view: RunView) -> str:
    if view.attempt is None:
        return "—"
    return f"attempt {view.attempt}/{view.max_attempts}" if view.max_attempts else str(view.attempt)


def _score_text(view: RunView) -> str:
    if view.score is None:
        return "—"
    if view.threshold is None:
        return f"{view.score:.2f}"
    relation = "≥" if view.score >= view.threshold else "<"
    return f"{view.score:.2f} ({relation} {view.threshold:.2f})"


def _cost_text(view: RunView) -> str:
    return f"{money(view.cost_usd)}, {view.tokens} tokens"


def money(amount: str | None) -> str:
    """`$0`, `$0.0004`, `$1.25`; "cost unknown" when some call had no known price."""
    if amount is None:
        return "cost unknown"
    try:
        value = Decimal(amount)
    except ArithmeticError:
        return f"${amount}"
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value < Decimal("0.01") else f"${value:.2f}"


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        return ", ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, dict | list))
    return "" if data is None else str(data)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
