"""The run page (`/runs/{id}`) and its controls: cancel, pause, resume, retry, gate decisions.

The page renders the run's header, timeline, score chart, attempts and artifacts; live.js
follows `/api/runs/{id}/stream` from the last event shown, appends each event to the
timeline at once and refreshes the other parts (`?fragment=parts`). Controls are plain
forms (CSRF-checked) that redirect back to the run, or to the new run after a retry.
"""

from __future__ import annotations

from collections import deque
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.runs import Event, RunFilter
from agentdeck.domain.tasks import REVIEW_GATE
from agentdeck.web.api.runs import run_out
from agentdeck.web.pages import run_views
from agentdeck.web.pages.gates import explain
from agentdeck.web.pages.run_views import RunPageOut
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page, redirect
from agentdeck.web.schemas import ArtifactOut, EventOut, task_views
from agentdeck.web.sessions import FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

EVENTS_SHOWN = 1000  # the timeline's last events; live.js keeps at most twice as many
EVENT_BATCH = 1000
MAX_EVENT_BATCHES = 50  # beyond this, the live stream delivers the rest
RunId = Annotated[str, Path(max_length=100)]
Action = Literal["cancel", "pause", "resume", "retry"]


async def _events(deck: Deck, run_id: str) -> tuple[list[Event], bool]:
    """The run's last EVENTS_SHOWN events, and whether older ones were left out."""
    window: deque[Event] = deque(maxlen=EVENTS_SHOWN)
    after, seen = 0, 0
    for _ in range(MAX_EVENT_BATCHES):
        batch = await deck.events(run_id, after=after, limit=EVENT_BATCH)
        window.extend(batch)
        seen += len(batch)
        if len(batch) < EVENT_BATCH:
            break
        after = batch[-1].id
    return list(window), seen > len(window)


async def run_data(
    deck: Deck, run_id: str, *, timeline: bool = True
) -> tuple[RunPageOut, dict[str, object]]:
    """The page's data, and for the template the artifacts' rendered HTML by id.

    Without `timeline` (the parts live.js refreshes) the events are read for the scores
    and the gate but not listed.
    """
    # events first: a change committed in between then shows in the header and arrives
    # on the live stream, which starts after the last event listed here
    events, earlier = await _events(deck, run_id)
    run = run_out(deck, await deck.get(run_id))
    artifacts = await deck.artifacts(run_id)
    attempts = run_views.attempts_of(artifacts)
    retries = await deck.list(RunFilter(retry_of=run_id), limit=20)
    gate = run_views.gate_of(run, events)
    if gate is not None:
        blocked = None
        if gate.name == REVIEW_GATE:
            blocked = task_views(run_id, await deck.tasks.tasks(run_id)).blocked
        gate.help = explain(gate.name, gate.message, run, blocked)
    data = RunPageOut(
        run=run,
        actions=run_views.actions_of(run),
        gate=gate,
        retried_as=[r.id for r in retries.items],
        scores=run_views.scores_of(run, events, attempts),
        attempts=attempts,
        artifacts=[ArtifactOut.of(a) for a in artifacts],
        events=[EventOut.of(e) for e in events] if timeline else [],
        earlier_events=earlier,
    )
    html = {a.id: run_views.rendered(a) for a in artifacts}
    return data, {"artifact_html": html}


def _context(data: RunPageOut, extra: dict[str, object]) -> dict[str, object]:
    evaluated = any(attempt.evaluation for attempt in data.attempts)  # else no comparison
    in_attempts = {
        a.id
        for attempt in data.attempts
        for a in (attempt.draft, attempt.evaluation)
        if a and evaluated
    }
    return {
        "page_key": "runs",
        "timeline_html": run_views.timeline_html,
        "in_attempts": in_attempts,
        "last_event_id": data.events[-1].id if data.events else 0,
        "gate_error": None,
        "gate_comment": "",
        **extra,
    }


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: RunId) -> Response:
    """The run; `?fragment=parts` is every part but the timeline, for live.js to swap in."""
    deck = deck_of(request)
    if request.query_params.get("fragment") == "parts":
        data, extra = await run_data(deck, run_id, timeline=False)
        return fragment(request, "_run_fragment.html", {"data": data, **_context(data, extra)})
    data, extra = await run_data(deck, run_id)
    context = _context(data, extra)
    if data.run.status.finished and data.run.workflow != "plan":
        context["step_keys"] = [s.key for s in await deck.steps(run_id)]
    return page(request, "run.html", data, context)


@router.post("/runs/{run_id}/gate")
async def decide_gate(request: Request, run_id: RunId, form: FormDep) -> Response:
    """Approve, reject or request changes at the gate; a missing comment is shown inline."""
    deck = deck_of(request)
    gate = first(form, "gate")
    comment = first(form, "comment").strip() or None
    budget = first(form, "budget_usd").strip()  # the budget gate's new limit, if given
    try:
        await deck.decide(
            run_id,
            gate,
            first(form, "decision"),
            comment,
            {"budget_usd": budget} if budget else None,
        )
    except InvalidInput as error:
        data, extra = await run_data(deck, run_id)
        context = _context(data, extra)
        context.update(gate_error=str(error), gate_comment=comment or "")
        return page(request, "run.html", data, context, status=422)
    return redirect(request, f"/runs/{run_id}")


@router.post("/runs/{run_id}/rerun")
async def rerun(request: Request, run_id: RunId, form: FormDep) -> Response:
    """Re-run from the chosen step; lands on the new run's page."""
    run = await deck_of(request).reruns.from_step(run_id, first(form, "from_step"))
    return redirect(request, f"/runs/{run.id}")


@router.post("/runs/{run_id}/{action}")
async def steer(request: Request, run_id: RunId, action: Action, form: FormDep) -> Response:
    """Cancel, pause, resume or retry; a retry lands on the new run's page."""
    deck = deck_of(request)
    commands = {
        "cancel": deck.cancel,
        "pause": deck.pause,
        "resume": deck.resume,
        "retry": deck.retry,
    }
    run = await commands[action](run_id)
    return redirect(request, f"/runs/{run.id}")
