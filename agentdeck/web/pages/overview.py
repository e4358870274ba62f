"""The overview page (`/`): runs by status, in flight, gates waiting, workers, cost, failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from agentdeck.deck import Deck
from agentdeck.domain.runs import RunFilter, RunStatus, WaitKind
from agentdeck.domain.usage import UsageTotal
from agentdeck.web.api.runs import run_out
from agentdeck.web.api.stack_reads import stack_counts
from agentdeck.web.api.system import worker_views
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page, simulator_in_use
from agentdeck.web.schemas import RunOut
from agentdeck.web.sessions import require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

LIST_SIZE = 8
STATUSES = [s.value for s in RunStatus]


class CostOut(BaseModel):
    """Model calls, tokens and cost over a period; `unpriced_calls` had no known price."""

    since: datetime
    cost_usd: str
    calls: int
    input_tokens: int
    output_tokens: int
    unpriced_calls: int

    @classmethod
    def of(cls, since: datetime, totals: list[UsageTotal]) -> CostOut:
        return cls(
            since=since,
            cost_usd=f"{sum((t.cost_usd for t in totals), Decimal(0)).normalize():f}",
            calls=sum(t.calls for t in totals),
            input_tokens=sum(t.input_tokens for t in totals),
            output_tokens=sum(t.output_tokens for t in totals),
            unpriced_calls=sum(t.unpriced_calls for t in totals),
        )


class LoopingOut(BaseModel):
    """An unfinished run one of whose agents keeps giving the same answer."""

    run_id: str
    workflow: str
    agent: str
    times: int
    flagged_at: datetime


class OverviewOut(BaseModel):
    """What the overview shows: the JSON twin of `/`."""

    runs_by_status: dict[str, int] = Field(description="Every status, zero included.")
    in_flight: list[RunOut] = Field(description="Running runs, newest first.")
    waiting_gates: list[RunOut] = Field(description="Runs waiting for a person's decision.")
    stalled: list[RunOut] = Field(description="Running runs whose heartbeat is old.")
    overdue_gates: list[RunOut] = Field(
        description="Runs waiting at a gate longer than gate_overdue_after."
    )
    looping: list[LoopingOut] = Field(description="Unfinished runs with an agent looping.")
    recent_failures: list[RunOut]
    workers_alive: int
    workers_lost: int
    cost_today: CostOut = Field(description="Since 00:00 UTC today.")
    cost_this_week: CostOut = Field(description="Since Monday 00:00 UTC.")
    simulator: bool = Field(description="The offline simulator answers the agents.")
    stacks_by_state: dict[str, int] = Field(description="Stacks by state, zero included.")
    llm_status: str


async def _runs(deck: Deck, status: RunStatus, limit: int = LIST_SIZE) -> list[RunOut]:
    found = await deck.list(RunFilter(statuses=(status.value,)), limit=limit)
    return [run_out(deck, r) for r in found.items]


async def overview_data(deck: Deck) -> OverviewOut:
    """Composed from the Deck's reads: status counts, short lists, workers, usage per day."""
    health = await deck.health()
    counts = {s: int(health["runs"].get(s, 0)) for s in STATUSES}
    waiting = await _runs(deck, RunStatus.WAITING, limit=100)
    workers = await worker_views(deck, count_runs=False)
    now = deck.clock.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    days = await deck.costs.by_day(since=monday)
    today_key = today.date().isoformat()
    gates = [r for r in waiting if r.wait_kind == WaitKind.GATE]
    running = await _runs(deck, RunStatus.RUNNING, limit=100)
    return OverviewOut(
        runs_by_status=counts,
        in_flight=running[:LIST_SIZE],
        waiting_gates=gates[:LIST_SIZE],
        stalled=[r for r in running if r.stalled][:LIST_SIZE],
        overdue_gates=[r for r in gates if r.overdue][:LIST_SIZE],
        looping=await _looping(deck),
        recent_failures=await _runs(deck, RunStatus.FAILED, limit=5),
        workers_alive=sum(1 for w in workers if w.status == "alive"),
        workers_lost=sum(1 for w in workers if w.status == "lost"),
        cost_today=CostOut.of(today, [d for d in days if d.key == today_key]),
        cost_this_week=CostOut.of(monday, days),
        simulator=simulator_in_use(deck),
        llm_status=deck.llm.status(),
        stacks_by_state=await stack_counts(deck),
    )


async def _looping(deck: Deck) -> list[LoopingOut]:
    out = []
    for event in await deck.watch.looping(LIST_SIZE):
        data = event.data if isinstance(event.data, dict) else {}
        run = await deck.get(event.run_id)
        out.append(
            LoopingOut(
                run_id=run.id,
                workflow=run.workflow,
                agent=str(data.get("agent", "?")),
                times=int(data.get("times", 0)),
                flagged_at=event.created_at,
            )
        )
    return out


@router.get("/")
async def overview(request: Request) -> Response:
    """The overview; `?fragment=body` is the part live.js refreshes."""
    data = await overview_data(deck_of(request))
    if request.query_params.get("fragment") == "body":
        return fragment(request, "_overview_body.html", {"data": data})
    return page(request, "overview.html", data, {"page_key": "overview"})
