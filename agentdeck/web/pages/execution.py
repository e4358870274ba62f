"""The execution page of a plan run (`/runs/{id}/execution`), and the external agents page.

The execution page shows the progress, the task graph (SVG, layered by prerequisites,
coloured by state), the task tree, the latest task events and the blockers with their
actions; live.js refreshes its regions on every event. `/agents/external` lists the
external agents (last seen, tasks in hand), registers them (the token is shown once)
and revokes them. Both have JSON twins (`?format=json`).
"""

from __future__ import annotations

from collections import deque
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.domain.runs import Event, RunStatus
from agentdeck.web.api.runs import run_out
from agentdeck.web.pages.task_details import (
    TaskPlanOut,
    as_paused,
    output_html,
    plan_details,
    took,
)
from agentdeck.web.pages.task_graph import task_graph_svg
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page, redirect
from agentdeck.web.schemas import (
    EventOut,
    ExternalAgentCreatedOut,
    ExternalAgentOut,
    RunOut,
    TasksOut,
    graph_of,
    task_views,
)
from agentdeck.web.sessions import FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

RunId = Annotated[str, Path(max_length=100)]
TaskKey = Annotated[str, Path(max_length=60)]
AgentId = Annotated[str, Path(max_length=40)]
Control = Literal["pause", "resume", "cancel"]
FEED = 40  # the latest task events shown
EVENT_BATCH = 1000
MAX_EVENT_BATCHES = 50


class ExecutionPageOut(BaseModel):
    """The JSON twin of `/runs/{id}/execution`."""

    run: RunOut
    tasks: TasksOut
    events: list[EventOut] = Field(description="The latest task and gate events, newest first.")
    plan: dict[str, TaskPlanOut] = Field(
        default_factory=dict, description="Each task's estimate and phase, as the plan said."
    )


class ExternalAgentsPageOut(BaseModel):
    """The JSON twin of `/agents/external`."""

    agents: list[ExternalAgentOut]
    lease_s: float = Field(description="How long a claim holds without a heartbeat.")
    unreachable_after_s: float
    created: ExternalAgentCreatedOut | None = Field(
        None, description="The agent just registered, with its token (shown this once)."
    )


# --- the execution page ---------------------------------------------------------------


async def _feed(deck: Deck, run_id: str) -> list[Event]:
    kept: deque[Event] = deque(maxlen=FEED)
    after = 0
    for _ in range(MAX_EVENT_BATCHES):
        batch = await deck.events(run_id, after=after, limit=EVENT_BATCH)
        kept.extend(e for e in batch if e.kind.startswith(("task.", "gate.", "plan.")))
        if len(batch) < EVENT_BATCH:
            break
        after = batch[-1].id
    return list(reversed(kept))


async def execution_data(deck: Deck, run_id: str) -> tuple[ExecutionPageOut, dict[str, Any]]:
    run = await deck.get(run_id)
    if run.workflow != "plan":
        raise NotFound(f"run {run_id} is a {run.workflow} run: only plan runs have tasks")
    rows = await deck.tasks.tasks(run_id)
    tasks = task_views(run_id, rows)
    if run.status == RunStatus.PAUSED:
        tasks = as_paused(tasks)
    events = await _feed(deck, run_id)
    data = ExecutionPageOut(
        run=run_out(deck, run),
        tasks=tasks,
        events=[EventOut.of(e) for e in events],
        plan=plan_details(await deck.artifacts(run_id)),
    )
    finished = sum(n for status, n in tasks.counts.items() if status in _FINISHED)
    extra = {
        "graph_svg": task_graph_svg(tasks.items, graph_of(rows)),
        "finished": finished,
        "leaves": sum(tasks.counts.values()),
        "controls": _controls(data.run),
        "outputs": {t.key: output_html(t.output) for t in tasks.items if t.output is not None},
        "took": {t.key: took(t.started_at, t.finished_at) for t in tasks.items},
    }
    return data, extra


_FINISHED = ("completed", "failed", "skipped", "cancelled")


def _controls(run: RunOut) -> list[Control]:
    status = run.status.value
    out: list[Control] = []
    if status in ("queued", "running", "waiting") and run.pause_requested_at is None:
        out.append("pause")
    if status == "paused":
        out.append("resume")
    if status not in ("succeeded", "failed", "cancelled"):
        out.append("cancel")
    return out


@router.get("/runs/{run_id}/execution")
async def execution_page(request: Request, run_id: RunId) -> Response:
    """`?fragment=live` and `?fragment=blockers` are the regions live.js refreshes."""
    deck = deck_of(request)
    data, extra = await execution_data(deck, run_id)
    context = {"data": data, **extra}
    part = request.query_params.get("fragment")
    if part == "live":
        return fragment(request, "_execution_live.html", context)
    if part == "blockers":
        return fragment(request, "_execution_blockers.html", context)
    return page(request, "execution.html", data, {"page_key": "runs", **extra})


@router.post("/runs/{run_id}/execution/tasks/{key}/resolve")
async def resolve(request: Request, run_id: RunId, key: TaskKey, form: FormDep) -> Response:
    """Retry, reassign, mark done or skip a blocked task; back to the execution page."""
    deck = deck_of(request)
    agent = first(form, "agent").strip() or None
    external = agent if agent and agent.startswith("xa_") else None
    await deck.tasks.resolve(
        f"{run_id}:{key}",
        first(form, "action"),
        note=first(form, "note").strip() or None,
        agent=None if external else agent,
        external_agent=external,
        by="dashboard",
    )
    return redirect(request, f"/runs/{run_id}/execution")


@router.post("/runs/{run_id}/execution/{control}")
async def steer(request: Request, run_id: RunId, control: Control, form: FormDep) -> Response:
    """Pause, resume or cancel the whole execution."""
    deck = deck_of(request)
    commands = {"pause": deck.pause, "resume": deck.resume, "cancel": deck.cancel}
    await commands[control](run_id)
    return redirect(request, f"/runs/{run_id}/execution")


# --- external agents ----------------------------------------------------------------------


async def _agents_page(
    request: Request, created: ExternalAgentCreatedOut | None = None, status: int = 200
) -> Response:
    deck = deck_of(request)
    data = ExternalAgentsPageOut(
        agents=[ExternalAgentOut.of(a, n) for a, n in await deck.tasks.external_agents()],
        lease_s=deck.settings.task_lease_interval.total_seconds(),
        unreachable_after_s=deck.settings.external_agent_unreachable_after.total_seconds(),
        created=created,
    )
    if request.query_params.get("fragment") == "section":
        return fragment(request, "_external_agents.html", {"data": data})
    return page(request, "external_agents.html", data, {"page_key": "agents"}, status)


@router.get("/agents/external")
async def external_agents_page(request: Request) -> Response:
    """External agents; `?fragment=section` is the part the Agents page shows."""
    return await _agents_page(request)


@router.post("/agents/external")
async def register_external_agent(request: Request, form: FormDep) -> Response:
    """Register an external agent and show its token, this once."""
    deck = deck_of(request)
    capabilities = [c.strip() for c in first(form, "capabilities").split(",") if c.strip()]
    name = first(form, "name").strip()
    if not name:
        raise InvalidInput("name the external agent", field="name")
    registered = await deck.tasks.register(name, capabilities, first(form, "description") or None)
    view = ExternalAgentOut.of(registered.agent)
    created = ExternalAgentCreatedOut(**view.model_dump(), token=registered.token)
    return await _agents_page(request, created, status=201)


@router.post("/agents/external/{agent_id}/revoke")
async def revoke_external_agent(request: Request, agent_id: AgentId, form: FormDep) -> Response:
    """Revoke the agent's token; the tasks it holds return to the pool."""
    await deck_of(request).tasks.revoke(agent_id)
    return redirect(request, "/agents/external")
