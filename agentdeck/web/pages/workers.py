"""The workers page (`/workers`): each worker alive, stopped or lost, its runs and heartbeat."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from agentdeck.web.api.system import worker_views
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page
from agentdeck.web.schemas import WorkerOut
from agentdeck.web.sessions import require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)


class WorkersPageOut(BaseModel):
    """The JSON twin of `/workers` (the same items as `GET /api/workers`)."""

    workers: list[WorkerOut]
    lost_after_s: float = Field(description="A worker silent this long shows as lost.")


@router.get("/workers")
async def workers_page(request: Request) -> Response:
    """The workers; `?fragment=rows` is the table body live.js refreshes every few seconds."""
    deck = deck_of(request)
    data = WorkersPageOut(
        workers=await worker_views(deck),
        lost_after_s=deck.settings.worker_lost_after.total_seconds(),
    )
    if request.query_params.get("fragment") == "rows":
        return fragment(request, "_worker_rows.html", {"data": data})
    return page(request, "workers.html", data, {"page_key": "workers"})
