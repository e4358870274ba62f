"""/api/workflows, /api/workers, /api/health and /metrics: what the deck can run and how it is."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from agentdeck.deck import MAX_PAGE, Deck
from agentdeck.domain.runs import RunFilter, RunStatus
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses
from agentdeck.web.metrics import Metrics
from agentdeck.web.schemas import HealthOut, WorkerOut, WorkflowOut

router = APIRouter(tags=["system"])
open_router = APIRouter(tags=["system"])  # needs no token: load balancers probe it


@router.get("/api/workflows", responses=responses(401))
async def list_workflows(deck: DeckDep) -> list[WorkflowOut]:
    """The workflows runs can be started of, each with the JSON schema of its inputs."""
    return [WorkflowOut.of(w) for w in deck.registry.list()]


async def _runs_in_hand(deck: Deck) -> dict[str, int] | None:
    """Running runs per worker, from one page of running runs; None if there are more."""
    page = await deck.list(RunFilter(statuses=(RunStatus.RUNNING.value,)), limit=MAX_PAGE)
    if page.next_cursor is not None:
        return None
    return dict(Counter(r.claimed_by for r in page.items if r.claimed_by))


async def worker_views(deck: Deck, *, count_runs: bool = True) -> list[WorkerOut]:
    """Every known worker with its effective status (a silent `alive` one shows as lost)."""
    rows = await deck.workers()
    in_hand = await _runs_in_hand(deck) if count_runs else None
    now = deck.clock.now()
    lost_after = deck.settings.worker_lost_after
    return [
        WorkerOut.of(row, now, lost_after, None if in_hand is None else in_hand.get(row.id, 0))
        for row in rows
    ]


@router.get("/api/workers", responses=responses(401))
async def list_workers(deck: DeckDep) -> list[WorkerOut]:
    """Workers, most recent heartbeat first: alive, stopped or lost, with the runs they hold."""
    return await worker_views(deck)


@open_router.get(
    "/api/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database does not answer."}},
)
async def health(deck: DeckDep) -> HealthOut | JSONResponse:
    """Database reachability, workers alive, runs by status and the version.

    503 (same body, `status` "unavailable") when the database does not answer, so a
    load balancer's probe takes the process out of rotation.
    """
    out = HealthOut.model_validate(await deck.health())
    if not out.database.ok:
        return JSONResponse(out.model_dump(mode="json"), status_code=503)
    return out


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **responses(401),
    },
)
async def metrics(deck: DeckDep, request: Request) -> Response:
    """Prometheus metrics: runs by status, workers, requests and latency per route."""
    collectors: Metrics = request.app.state.metrics
    health = await deck.health()
    body = collectors.render(health["runs"], await worker_views(deck, count_runs=False))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
