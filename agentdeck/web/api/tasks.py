"""/api/runs/{id}/tasks, /api/tasks/{id}[/resolve] and /api/plans/check: plan runs' tasks,
and people resolving the blocked ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from agentdeck.domain.plans import InvalidPlan
from agentdeck.web.api.runs import RunId, run_out
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses
from agentdeck.web.schemas import (
    PlanCheckIn,
    PlanCheckOut,
    ResolveIn,
    RunOut,
    TaskOut,
    TasksOut,
    task_views,
)

router = APIRouter(tags=["tasks"])

TaskId = Annotated[str, Path(max_length=120, description="`<run id>:<task key>`.")]


@router.get("/api/runs/{run_id}/tasks", responses=responses(401, 404, 422))
async def list_tasks(deck: DeckDep, run_id: RunId) -> TasksOut:
    """A plan run's tasks in plan order, with counts, progress and the blocked ones."""
    return task_views(run_id, await deck.tasks.tasks(run_id))


@router.get("/api/tasks/{task_id}", responses=responses(401, 404, 422))
async def get_task(deck: DeckDep, task_id: TaskId) -> TaskOut:
    """One task."""
    task = await deck.tasks.task(task_id)
    views = task_views(task.run_id, await deck.tasks.tasks(task.run_id))
    return next(t for t in views.items if t.id == task_id)


@router.post("/api/tasks/{task_id}/resolve", responses=responses(400, 401, 404, 409, 422))
async def resolve_task(deck: DeckDep, task_id: TaskId, body: ResolveIn) -> RunOut:
    """Retry, reassign, mark done or skip a blocked task (409 if it is not blocked)."""
    run = await deck.tasks.resolve(
        task_id,
        body.action,
        note=body.note,
        agent=body.agent,
        external_agent=body.external_agent,
    )
    return run_out(deck, run)


@router.post("/api/plans/check", responses=responses(400, 401, 422))
async def check_plan(deck: DeckDep, body: PlanCheckIn) -> PlanCheckOut:
    """Read and check a plan as the plan workflow would, without running it."""
    try:
        form, graph = deck.tasks.check_plan(body.plan, body.format)
    except InvalidPlan as error:
        error.field = "plan"
        raise
    if graph is None:
        return PlanCheckOut(format="text", plan=None, tasks=0, leaves=0, layers=0)
    layers = graph.layers()
    return PlanCheckOut(
        format=form.value,
        plan=graph.plan.model_dump(mode="json"),
        tasks=len(graph.nodes),
        leaves=len(graph.leaves),
        layers=1 + max(layers.values()),
    )
