"""The runs page (`/runs`): every run, filtered by status, workflow, agent and text, sorted.

Newest first pages through all runs with the API's cursor. Any other order sorts the
newest SORT_WINDOW matching runs (the store lists by age only) and says so when more
matched. live.js refreshes the rows (`?fragment=rows`) whenever an event arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from agentdeck.deck import MAX_PAGE, Deck
from agentdeck.domain.runs import RunFilter, RunStatus
from agentdeck.web.api.runs import run_out
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page
from agentdeck.web.schemas import RunOut
from agentdeck.web.sessions import require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

PAGE_SIZE = 50
SORT_WINDOW = MAX_PAGE
Sort = Literal["newest", "oldest", "status", "score", "cost", "duration"]
SORTS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "status": "Status",
    "score": "Score, highest first",
    "cost": "Cost, highest first",
    "duration": "Duration, longest first",
}
# the order statuses are listed in: what needs attention first
STATUS_ORDER = ["running", "waiting", "queued", "paused", "failed", "cancelled", "succeeded"]


class RunFilters(BaseModel):
    """The filters and order of the list, as given in the query string."""

    status: list[RunStatus] = Field(default_factory=list)
    workflow: str | None = None
    agent: str | None = None
    text: str | None = None
    sort: Sort = "newest"


class RunsPageOut(BaseModel):
    """The JSON twin of `/runs`: the runs shown, and what narrowed them."""

    filters: RunFilters
    items: list[RunOut]
    next_cursor: str | None = Field(description="For newest first: pass as `cursor`.")
    sorted_among: int | None = Field(
        description="Set when sorted otherwise than by age and more runs matched: the number "
        "of newest matching runs that were sorted."
    )
    workflows: list[str]
    agents: list[str]


def _duration(run: RunOut, now: datetime) -> float:
    if run.started_at is None:
        return 0.0
    return ((run.finished_at or now) - run.started_at).total_seconds()


def _sort_key(sort: str, now: datetime) -> Callable[[RunOut], Any]:
    keys: dict[str, Callable[[RunOut], Any]] = {
        "oldest": lambda r: r.id,
        "status": lambda r: (STATUS_ORDER.index(r.status.value), r.id),
        "score": lambda r: -(r.score if r.score is not None else -1.0),
        "cost": lambda r: -Decimal(r.priced_cost_usd),
        "duration": lambda r: -_duration(r, now),
    }
    return keys[sort]


async def runs_data(deck: Deck, filters: RunFilters, cursor: str | None) -> RunsPageOut:
    where = RunFilter(
        statuses=tuple(s.value for s in filters.status),
        workflow=filters.workflow or None,
        agent=filters.agent or None,
        text=filters.text or None,
    )
    sorted_among = None
    if filters.sort == "newest":
        found = await deck.list(where, cursor=cursor, limit=PAGE_SIZE)
        items = [run_out(deck, r) for r in found.items]
        next_cursor = found.next_cursor
    else:
        found = await deck.list(where, limit=SORT_WINDOW)
        key = _sort_key(filters.sort, deck.clock.now())
        items = sorted((run_out(deck, r) for r in found.items), key=key)
        next_cursor = None
        sorted_among = SORT_WINDOW if found.next_cursor else None
    agents = [a.name for a in await deck.agents.list()]
    return RunsPageOut(
        filters=filters,
        items=items,
        next_cursor=next_cursor,
        sorted_among=sorted_among,
        workflows=[w.name for w in deck.registry.list()],
        agents=agents,
    )


@router.get("/runs")
async def runs_page(
    request: Request,
    status: Annotated[list[RunStatus] | None, Query()] = None,
    workflow: Annotated[str | None, Query(max_length=200)] = None,
    agent: Annotated[str | None, Query(max_length=200)] = None,
    text: Annotated[str | None, Query(max_length=200)] = None,
    sort: Sort = "newest",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The list; `?fragment=rows` is the table body live.js swaps in."""
    filters = RunFilters(
        status=status or [],
        workflow=workflow or None,
        agent=agent or None,
        text=(text or "").strip() or None,
        sort=sort,
    )
    data = await runs_data(deck_of(request), filters, cursor or None)
    if request.query_params.get("fragment") == "rows":
        return fragment(request, "_run_rows.html", {"data": data})
    filtered = bool(filters.status or filters.workflow or filters.agent or filters.text)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "format")]
    here = [*kept, ("cursor", cursor)] if cursor else kept
    context = {
        "page_key": "runs",
        "sorts": SORTS,
        "statuses": [s.value for s in RunStatus],
        "filtered": filtered or filters.sort != "newest",
        "rows_url": "/runs?" + urlencode([*here, ("fragment", "rows")]),
        "newest_url": "/runs?" + urlencode(kept) if cursor else None,
        "older_url": (
            "/runs?" + urlencode([*kept, ("cursor", data.next_cursor)])
            if data.next_cursor
            else None
        ),
    }
    return page(request, "runs.html", data, context)
