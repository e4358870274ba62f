"""/api/repositories and /api/builds: register or clone repositories, start builds, decide gates.

Each answer is the JSON the dashboard's build pages render.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from agentdeck.deck.repositories import repository_json
from agentdeck.domain.errors import InvalidInput
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses

router = APIRouter(tags=["builds"])
RunId = Annotated[str, Path(max_length=40)]
RepoKey = Annotated[str, Path(max_length=200, description="The repository's id or name.")]


class RepositoryIn(BaseModel):
    """Register the local repository at `path`, or clone `source` (a path or URL)."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, max_length=1000, description="Absolute path to register.")
    source: str | None = Field(None, max_length=1000, description="A path or URL to clone.")
    name: str | None = Field(None, max_length=100)
    push_remote: str | None = Field(None, max_length=1000)
    budget_usd: Decimal | None = Field(None, ge=0)


class BuildIn(BaseModel):
    """A build to queue."""

    model_config = ConfigDict(extra="forbid")

    repository: str = Field(max_length=200, description="A registered repository's id or name.")
    request: str = Field(min_length=1, max_length=4000)
    mode: Literal["frugal", "balanced", "performance", "max"] = "balanced"
    plan_approval: Literal["whole", "per-phase", "none"] = "whole"
    diff_approval: bool = True
    max_phases: int | None = Field(None, ge=1, le=20)
    push: bool = False
    priority: int = Field(0, ge=0, le=1000)
    not_before: datetime | None = Field(None, description="Run overnight: not before this time.")
    budget_usd: float | None = Field(None, ge=0)
    test_command: str | None = Field(None, max_length=1000)
    orchestrator_model: str | None = Field(
        None, max_length=200, description="`provider:model`; empty: the mode's choice."
    )


class GateIn(BaseModel):
    """A decision at the gate the build waits at."""

    model_config = ConfigDict(extra="forbid")

    gate: str = Field(max_length=200, description="e.g. `plan`, `phase P2`, `diff P1`.")
    decision: Literal["approve", "reject", "changes"]
    comment: str | None = Field(None, max_length=4000)


@router.get("/api/repositories", responses=responses(401, 422))
async def list_repositories(deck: DeckDep) -> list[dict[str, Any]]:
    return [repository_json(r) for r in await deck.builds.repositories.list()]


@router.post("/api/repositories", status_code=201, responses=responses(400, 401, 409, 422))
async def add_repository(deck: DeckDep, body: RepositoryIn) -> dict[str, Any]:
    """Register a local git repository, or clone one and register the clone."""
    repositories = deck.builds.repositories
    if (body.path is None) == (body.source is None):
        raise InvalidInput("give either `path` (to register) or `source` (to clone)", "path")
    options: dict[str, Any] = {
        "name": body.name,
        "push_remote": body.push_remote,
        "budget_usd": body.budget_usd,
    }
    if body.source is not None:
        row = await repositories.clone(body.source, **options)
    else:
        row = await repositories.register(body.path or "", **options)
    return repository_json(row)


@router.get("/api/repositories/{key}", responses=responses(401, 404, 422))
async def get_repository(deck: DeckDep, key: RepoKey) -> dict[str, Any]:
    """The repository with its branches, recent commits and files."""
    view = await deck.builds.repositories.view(key)
    return {
        **repository_json(view.repository),
        "head_branch": view.head_branch,
        "branches": view.branches,
        "commits": [c.__dict__ for c in view.commits],
        "tree": view.tree,
        "tree_total": view.tree_total,
    }


@router.get("/api/builds", responses=responses(401, 422))
async def list_builds(deck: DeckDep) -> list[dict[str, Any]]:
    """The queue (highest priority first), then finished builds."""
    return [
        {
            "id": r.id,
            "status": r.status,
            "priority": r.priority,
            "request": r.inputs.get("request"),
            "repository_id": r.inputs.get("repository_id"),
            "waiting_on": r.waiting_on,
            "cost_usd": str(r.cost_usd),
            "due_at": r.due_at.isoformat(),
        }
        for r in await deck.builds.list()
    ]


@router.post("/api/builds", status_code=201, responses=responses(400, 401, 404, 422))
async def start_build(deck: DeckDep, body: BuildIn) -> dict[str, Any]:
    run = await deck.builds.start(
        body.repository,
        body.request,
        mode=body.mode,
        plan_approval=body.plan_approval,
        diff_approval=body.diff_approval,
        max_phases=body.max_phases,
        push=body.push,
        priority=body.priority,
        not_before=body.not_before,
        budget_usd=body.budget_usd,
        test_command=body.test_command,
        orchestrator_model=body.orchestrator_model,
    )
    return (await deck.builds.get(run.id)).as_json()


class ModeIn(BaseModel):
    """A role's model chain in a mode for a task kind; `models` null: back to the file's."""

    model_config = ConfigDict(extra="forbid")

    mode: str = Field(max_length=20, description="frugal, balanced, performance or max.")
    role: str = Field(max_length=100, description="orchestrator, backend, frontend, ...")
    kind: str = Field(
        "default",
        max_length=40,
        description="`default`, `simple-crud`, `auth-security` or `complex-logic`.",
    )
    models: list[str] | None = Field(
        None, max_length=10, description="`provider:model` names, first tried first."
    )


async def _modes_json(deck: Any) -> dict[str, Any]:
    table = await deck.builds.effective_modes()
    return {"modes": table.as_json(), "overrides": await deck.builds.overrides()}


@router.get("/api/builds/modes", responses=responses(401, 422))
async def get_modes(deck: DeckDep) -> dict[str, Any]:
    """The mode table a new build uses: the agents file's, with the overrides over it."""
    return await _modes_json(deck)


@router.put("/api/builds/modes", responses=responses(401, 422))
async def put_mode(deck: DeckDep, body: ModeIn) -> dict[str, Any]:
    """Override one chain (it applies to builds started from now on), or reset it."""
    if body.models is None:
        await deck.builds.reset_mode(body.mode, body.role, body.kind)
    else:
        await deck.builds.set_mode(body.mode, body.role, body.kind, body.models)
    return await _modes_json(deck)


@router.get("/api/builds/{run_id}", responses=responses(401, 404, 422))
async def get_build(deck: DeckDep, run_id: RunId) -> dict[str, Any]:
    """Review, plan with estimates, phases with diffs and tests, the monitor, the gate."""
    return (await deck.builds.get(run_id)).as_json()


@router.post("/api/builds/{run_id}/gate", responses=responses(400, 401, 404, 409, 422))
async def decide_gate(deck: DeckDep, run_id: RunId, body: GateIn) -> dict[str, Any]:
    await deck.builds.decide(run_id, body.gate, body.decision, body.comment)
    return (await deck.builds.get(run_id)).as_json()


class PriorityIn(BaseModel):
    """The build's new place in the queue."""

    model_config = ConfigDict(extra="forbid")

    priority: int = Field(ge=0, le=1000, description="A higher priority runs first.")


@router.post("/api/builds/{run_id}/priority", responses=responses(401, 404, 409, 422))
async def reprioritize(deck: DeckDep, run_id: RunId, body: PriorityIn) -> dict[str, Any]:
    """Move a build that is queued, waiting or paused up or down the queue."""
    await deck.builds.reprioritize(run_id, body.priority)
    return (await deck.builds.get(run_id)).as_json()
