"""/api/runs and /api/artifacts: start, list, read and steer runs; events, steps, artifacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from agentdeck.deck import MAX_EVENT_ID, MAX_PAGE, Deck
from agentdeck.domain import media_types
from agentdeck.domain.runs import Run, RunFilter, RunStatus
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses
from agentdeck.web.schemas import (
    ArtifactOut,
    CallOut,
    EventOut,
    EventPageOut,
    GateIn,
    PageOut,
    RunIn,
    RunOut,
    StepOut,
)

router = APIRouter(tags=["runs"])

RunId = Annotated[str, Path(max_length=100, description="A run id, e.g. run_01h...")]

# Raw artifacts may hold anything a model wrote: never let a browser run it on our origin.
ARTIFACT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


def run_out(deck: Deck, run: Run) -> RunOut:
    settings = deck.settings
    return RunOut.of(run, deck.clock.now(), settings.stalled_after, settings.gate_overdue_after)


@router.get("/api/runs", responses=responses(401, 422))
async def list_runs(
    deck: DeckDep,
    status: Annotated[
        list[RunStatus] | None, Query(description="Only these statuses (repeat the parameter).")
    ] = None,
    workflow: Annotated[str | None, Query(max_length=200)] = None,
    agent: Annotated[
        str | None, Query(max_length=200, description="Runs using this agent.")
    ] = None,
    text: Annotated[
        str | None, Query(max_length=200, description="Part of the id, workflow or error.")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> PageOut[RunOut]:
    """Runs, newest first, narrowed by the filters."""
    where = RunFilter(
        statuses=tuple(s.value for s in status or ()),
        workflow=workflow or None,
        agent=agent or None,
        text=text or None,
    )
    page = await deck.list(where, cursor=cursor or None, limit=limit)
    return PageOut[RunOut](
        items=[run_out(deck, r) for r in page.items], next_cursor=page.next_cursor
    )


@router.post("/api/runs", status_code=201, responses=responses(400, 401, 422))
async def submit_run(deck: DeckDep, body: RunIn) -> RunOut:
    """Queue a run; a repeated `idempotency_key` returns the run it first created."""
    run = await deck.submit(
        body.workflow,
        body.inputs,
        priority=body.priority,
        not_before=body.not_before,
        idempotency_key=body.idempotency_key,
        concurrency_key=body.concurrency_key,
        concurrency_limit=body.concurrency_limit,
    )
    return run_out(deck, run)


@router.get("/api/runs/{run_id}", responses=responses(401, 404, 422))
async def get_run(deck: DeckDep, run_id: RunId) -> RunOut:
    """One run."""
    return run_out(deck, await deck.get(run_id))


@router.post("/api/runs/{run_id}/cancel", responses=responses(401, 404, 409, 422))
async def cancel_run(deck: DeckDep, run_id: RunId) -> RunOut:
    """Cancel now: a run not executing ends at once, an executing one is interrupted."""
    return run_out(deck, await deck.cancel(run_id))


@router.post("/api/runs/{run_id}/pause", responses=responses(401, 404, 409, 422))
async def pause_run(deck: DeckDep, run_id: RunId) -> RunOut:
    """Park the run: at once if it is not executing, else after its current step."""
    return run_out(deck, await deck.pause(run_id))


@router.post("/api/runs/{run_id}/resume", responses=responses(401, 404, 409, 422))
async def resume_run(deck: DeckDep, run_id: RunId) -> RunOut:
    """Queue a paused run again; finished steps are not executed again."""
    return run_out(deck, await deck.resume(run_id))


class RerunIn(BaseModel):
    """Where the re-run starts: the key of one of the run's steps (GET .../steps lists them)."""

    model_config = ConfigDict(extra="forbid")

    from_step: str = Field(min_length=1, max_length=300, examples=["llm:evaluate:2"])


@router.post(
    "/api/runs/{run_id}/rerun", status_code=201, responses=responses(400, 401, 404, 409, 422)
)
async def rerun_run(deck: DeckDep, run_id: RunId, body: RerunIn) -> RunOut:
    """A new run linked to this finished one (`retry_of`): its steps before `from_step` are
    copied from the journal and not executed again; `from_step` and the rest run again."""
    return run_out(deck, await deck.reruns.from_step(run_id, body.from_step))


@router.post("/api/runs/{run_id}/retry", status_code=201, responses=responses(401, 404, 409, 422))
async def retry_run(deck: DeckDep, run_id: RunId) -> RunOut:
    """A new run with the same workflow and inputs, linked to this finished one."""
    return run_out(deck, await deck.retry(run_id))


@router.post("/api/runs/{run_id}/gates/{gate}", responses=responses(400, 401, 404, 409, 422))
async def decide_gate(
    deck: DeckDep,
    run_id: RunId,
    gate: Annotated[str, Path(max_length=200, description="The gate the run waits at.")],
    body: GateIn,
) -> RunOut:
    """Approve, reject, or request changes (with a comment) at the gate the run waits at."""
    run = await deck.decide(run_id, gate, body.decision, body.comment, body.data)
    return run_out(deck, run)


@router.get("/api/runs/{run_id}/events", responses=responses(401, 404, 422))
async def list_events(
    deck: DeckDep,
    run_id: RunId,
    after: Annotated[
        int, Query(ge=0, le=MAX_EVENT_ID, description="Only events with a larger id.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> EventPageOut:
    """The run's log in order, from after `after`."""
    events = await deck.events(run_id, after=after, limit=limit)
    return EventPageOut(
        items=[EventOut.of(e) for e in events], next_after=events[-1].id if events else after
    )


@router.get("/api/runs/{run_id}/steps", responses=responses(401, 404, 422))
async def list_steps(deck: DeckDep, run_id: RunId) -> list[StepOut]:
    """The run's journaled steps."""
    return [StepOut.of(s) for s in await deck.steps(run_id)]


@router.get("/api/runs/{run_id}/calls", responses=responses(401, 404, 422))
async def list_calls(deck: DeckDep, run_id: RunId) -> list[CallOut]:
    """The run's model calls in the order they were recorded; its totals are their sums."""
    await deck.get(run_id)
    return [CallOut.of(c) for c in await deck.costs.calls(run_id)]


@router.get("/api/runs/{run_id}/artifacts", responses=responses(401, 404, 422))
async def list_artifacts(deck: DeckDep, run_id: RunId) -> list[ArtifactOut]:
    """What the run produced, without the content."""
    return [ArtifactOut.of(a) for a in await deck.artifacts(run_id)]


@router.get(
    "/api/artifacts/{artifact_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The content, with the media type it was stored with.",
            # any media type, any content: markdown, JSON, a diff... as the run stored it
            "content": {"*/*": {"schema": {}}},
        },
        **responses(401, 404, 422),
    },
)
async def get_artifact(
    deck: DeckDep, artifact_id: Annotated[str, Path(max_length=100)]
) -> Response:
    """The raw content of an artifact."""
    artifact = await deck.artifact(artifact_id)
    # a stored type that is not one (written before types were checked) is sent as bytes
    media_type = media_types.safe(artifact.media_type)
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type += "; charset=utf-8"
    return Response(artifact.content, media_type=media_type, headers=ARTIFACT_HEADERS)
