"""What the run page shows, built from a run's events and artifacts, for any workflow.

Attempts come from artifacts that carry an attempt number (or are named `attempt-N...`):
the markdown/text one is the attempt's draft, the JSON one its evaluation (score,
feedback, criteria). Scores for the chart come from `score` events (`data.score`,
`data.attempt`, `data.threshold`), or from the evaluations when no event has them.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from agentdeck.domain.runs import Artifact, Event, RunStatus, WaitKind, can_transition
from agentdeck.web.pages.gates import GateHelpOut
from agentdeck.web.safe_html import artifact_html, kind_of
from agentdeck.web.schemas import ArtifactOut, EventOut, RunOut

_ATTEMPT_NAME = re.compile(r"attempt[-_ ]?(\d+)", re.IGNORECASE)
_RENDERED: OrderedDict[str, Markup] = OrderedDict()  # artifacts never change: render once
_RENDERED_MAX = 512


class AttemptOut(BaseModel):
    """One attempt: its draft and the evaluator's verdict on it."""

    number: int
    draft: ArtifactOut | None
    evaluation: ArtifactOut | None
    score: float | None
    passed: bool | None
    feedback: str | None
    criteria: dict[str, float] = Field(default_factory=dict)


class ScorePoint(BaseModel):
    attempt: int
    score: float
    threshold: float | None


class GateOut(BaseModel):
    """The gate a run waits at, for a person to approve, reject or request changes."""

    name: str
    message: str | None
    opened_event: int | None
    help: GateHelpOut | None = Field(
        None, description="Where the run waits, why, and what each decision will do."
    )


class RunPageOut(BaseModel):
    """The JSON twin of `/runs/{id}`."""

    run: RunOut
    actions: list[str] = Field(description="What can be done now: cancel, pause, resume, retry.")
    gate: GateOut | None
    retried_as: list[str] = Field(description="Runs that retry this one.")
    scores: list[ScorePoint]
    attempts: list[AttemptOut]
    artifacts: list[ArtifactOut]
    events: list[EventOut] = Field(description="The timeline (at most the last 1,000).")
    earlier_events: bool = Field(description="Older events exist that are not listed.")


def actions_of(run: RunOut) -> list[str]:
    status = RunStatus(run.status)
    actions = []
    if can_transition(status, RunStatus.PAUSED) and run.pause_requested_at is None:
        actions.append("pause")
    if status == RunStatus.PAUSED:
        actions.append("resume")
    if can_transition(status, RunStatus.CANCELLED) and run.cancel_requested_at is None:
        actions.append("cancel")
    if status.finished:
        actions.append("retry")
    return actions


def gate_of(run: RunOut, events: list[Event]) -> GateOut | None:
    """The gate the run waits at, with the latest word on why (a budget gate says how much)."""
    if run.status != RunStatus.WAITING or run.wait_kind != WaitKind.GATE or not run.waiting_on:
        return None
    opened = next(
        (
            e
            for e in reversed(events)
            if e.kind == "gate.opened"
            and isinstance(e.data, dict)
            and e.data.get("name") == run.waiting_on
        ),
        None,
    )
    reason = opened
    if run.waiting_on == "budget":
        reason = next((e for e in reversed(events) if e.kind == "budget.exceeded"), opened)
    return GateOut(
        name=run.waiting_on,
        message=reason.message if reason else None,
        opened_event=opened.id if opened else None,
    )


def _attempt_number(artifact: Artifact) -> int | None:
    if artifact.attempt is not None:
        return artifact.attempt
    found = _ATTEMPT_NAME.search(artifact.name)
    return int(found.group(1)) if found else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _evaluation(content: str) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def attempts_of(artifacts: list[Artifact]) -> list[AttemptOut]:
    drafts: dict[int, Artifact] = {}
    evaluations: dict[int, Artifact] = {}
    for artifact in artifacts:
        number = _attempt_number(artifact)
        if number is None:
            continue
        kind = kind_of(artifact.name, artifact.media_type)
        target = evaluations if kind == "json" else drafts
        target[number] = artifact  # the latest of a kind wins
    attempts = []
    for number in sorted(set(drafts) | set(evaluations)):
        evaluation = evaluations.get(number)
        values = _evaluation(evaluation.content) if evaluation else {}
        criteria = values.get("criteria")
        feedback = values.get("feedback")
        passed = values.get("passed")
        attempts.append(
            AttemptOut(
                number=number,
                draft=ArtifactOut.of(drafts[number]) if number in drafts else None,
                evaluation=ArtifactOut.of(evaluation) if evaluation else None,
                score=_number(values.get("score")),
                passed=passed if isinstance(passed, bool) else None,
                feedback=feedback if isinstance(feedback, str) else None,
                criteria={
                    str(k): float(v)
                    for k, v in (criteria.items() if isinstance(criteria, dict) else [])
                    if _number(v) is not None
                },
            )
        )
    return attempts


def scores_of(run: RunOut, events: list[Event], attempts: list[AttemptOut]) -> list[ScorePoint]:
    """One point per attempt (the latest score of it), in attempt order."""
    points: dict[int, ScorePoint] = {}
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        score = _number(data.get("score"))
        if event.kind != "score" or score is None:
            continue
        attempt = data.get("attempt")
        number = attempt if isinstance(attempt, int) and attempt > 0 else len(points) + 1
        threshold = _number(data.get("threshold"))
        points[number] = ScorePoint(
            attempt=number,
            score=score,
            threshold=threshold if threshold is not None else run.pass_threshold,
        )
    if not points:
        for a in attempts:
            if a.score is not None:
                points[a.number] = ScorePoint(
                    attempt=a.number, score=a.score, threshold=run.pass_threshold
                )
    return [points[n] for n in sorted(points)]


def rendered(artifact: Artifact) -> Markup:
    """The artifact's safe HTML, from a small cache (artifacts are immutable)."""
    html = _RENDERED.get(artifact.id)
    if html is None:
        html = artifact_html(artifact.name, artifact.media_type, artifact.content)
        _RENDERED[artifact.id] = html
        if len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    else:
        _RENDERED.move_to_end(artifact.id)
    return html


def tone_of(kind: str, data: Any) -> str:
    """The colour of a timeline entry; live.js has the same rules."""
    if kind in ("error", "step.failed", "run.failed") or kind.endswith(".failed"):
        return "bad"
    if kind == "verdict":
        verdict = data.get("verdict") if isinstance(data, dict) else None
        return "good" if verdict == "passed" else "bad"
    if kind == "run.succeeded":
        return "good"
    if kind in ("run.cancelled", "run.cancel_requested", "run.lease_expired", "step.retry"):
        return "warn"
    if kind.startswith("gate."):
        return "gate"
    if kind == "score":
        return "score"
    if kind == "stage.changed":
        return "stage"
    return "muted"


def data_text(data: Any, limit: int = 4000) -> str:
    """An event's data as compact JSON for the timeline, cut when long."""
    if data in (None, {}, []):
        return ""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))  # as JSON.stringify
    return text if len(text) <= limit else text[:limit] + " …"


def _rerun_link(event: EventOut, steps: set[str]) -> str:
    step = event.data.get("step") if isinstance(event.data, dict) else None
    if not isinstance(step, str) or step not in steps:
        return ""
    return f'<a class="ev-rerun" href="?rerun_from={quote(step)}#h-rerun">re-run from here</a>'


def timeline_html(events: list[EventOut], rerun_steps: list[str] | None = None) -> Markup:
    """The timeline's entries; live.js builds the same markup for each event it receives.

    Plain string building rather than a template macro: a run page may list a thousand.
    With `rerun_steps` (a finished run's step keys), an event of one of those steps (a
    model call) links to the re-run form with that step chosen.
    """
    steps = set(rerun_steps or ())
    parts = []
    for e in events:
        at = e.created_at
        stamp = at.isoformat()
        extra = data_text(e.data)
        details = (
            f'<details class="ev-data"><summary>data</summary><pre>{escape(extra)}</pre></details>'
            if extra
            else ""
        )
        parts.append(
            f'<li class="ev t-{tone_of(e.kind, e.data)}" data-id="{e.id}">'
            f'<time datetime="{stamp}" data-clock title="{stamp}">{at:%H:%M:%S}</time>'
            f'<span class="ev-kind" title="{escape(e.kind)}">{escape(e.kind)}</span>'
            f'<span class="ev-msg">{escape(e.message or "")}</span>{details}'
            f"{_rerun_link(e, steps)}</li>\n"
        )
    return Markup("".join(parts))
