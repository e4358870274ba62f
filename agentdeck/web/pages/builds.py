"""The build pages: `/builds` (queue and start form), `/builds/{id}` (review, plan, phases,
diffs, tests, monitor, gate) and `/repositories` (register, clone, tree, commits, branches).

`/builds/{id}?fragment=live` is the region live.js re-fetches when the build's events arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel

from agentdeck.deck.repositories import repository_json
from agentdeck.domain.errors import Conflict, InvalidInput
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page, redirect
from agentdeck.web.sessions import Form, FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

RunId = Annotated[str, Path(max_length=40)]
RepoKey = Annotated[str, Path(max_length=200)]
MODES = ("frugal", "balanced", "performance", "max")
APPROVALS = ("whole", "per-phase", "none")
KINDS = ("default", "simple-crud", "auth-security", "complex-logic")


class BuildsPageOut(BaseModel):
    """The JSON twin of `/builds`: the queue first, then finished builds; the repositories;
    the modes (each role's model chain, by task kind, the dashboard's overrides applied)
    and those overrides (mode -> role -> kind -> models)."""

    builds: list[dict[str, Any]]
    repositories: list[dict[str, Any]]
    modes: dict[str, Any]
    overrides: dict[str, Any]


class BuildPageOut(BaseModel):
    """The JSON twin of `/builds/{id}`."""

    build: dict[str, Any]


class RepositoriesPageOut(BaseModel):
    """The JSON twin of `/repositories`: each with what its builds cost so far (USD)."""

    repositories: list[dict[str, Any]]


class RepositoryPageOut(BaseModel):
    """The JSON twin of `/repositories/{name}`."""

    repository: dict[str, Any]
    head_branch: str
    branches: list[str]
    commits: list[dict[str, str]]
    tree: list[str]
    tree_total: int


def _row(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "priority": run.priority,
        "request": run.inputs.get("request"),
        "mode": run.inputs.get("mode"),
        "repository_id": run.inputs.get("repository_id"),
        "stage": run.stage,
        "waiting_on": run.waiting_on,
        "progress": run.progress,
        "cost_usd": str(run.cost_usd),
        "due_at": run.due_at.isoformat(),
        "created_at": run.created_at.isoformat(),
    }


async def _builds_page(
    request: Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> Response:
    deck = deck_of(request)
    runs = await deck.builds.list()
    repositories = [repository_json(r) for r in await deck.builds.repositories.list()]
    data = BuildsPageOut(
        builds=[_row(r) for r in runs],
        repositories=repositories,
        modes=(await deck.builds.effective_modes()).as_json(),
        overrides=await deck.builds.overrides(),
    )
    context = {
        "page_key": "builds",
        "modes": MODES,
        "approvals": APPROVALS,
        "errors": errors or {},
        "values": values or {},
        "names": {r["id"]: r["name"] for r in repositories},
        "agents_file": str(deck.agents.file),
        "roles": deck.builds.modes.roles(),
        "kinds": KINDS,
    }
    return page(request, "builds.html", data, context, 422 if errors else 200)


@router.get("/builds")
async def builds_page(request: Request) -> Response:
    """The build queue (highest priority first) and the form to start a build."""
    return await _builds_page(request)


def _not_before(text: str) -> datetime | None:
    """A `datetime-local` value, read as UTC (the form says so)."""
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"not a date and time: {text!r}", "not_before") from None


def _int(form: Form, name: str, default: int | None) -> int | None:
    text = first(form, name).strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", name) from None


@router.post("/builds")
async def start_build(request: Request, form: FormDep) -> Response:
    """Start a build; a bad field comes back on the form (422)."""
    deck = deck_of(request)
    values = {k: first(form, k) for k in form}
    try:
        run = await deck.builds.start(
            first(form, "repository"),
            first(form, "request").strip(),
            mode=first(form, "mode", "balanced"),
            plan_approval=first(form, "plan_approval", "whole"),
            diff_approval=first(form, "diff_approval") == "on",
            max_phases=_int(form, "max_phases", None),
            priority=_int(form, "priority", 0) or 0,
            not_before=_not_before(first(form, "not_before")),
            push=first(form, "push") == "on",
            orchestrator_model=first(form, "orchestrator_model").strip() or None,
        )
    except InvalidInput as error:
        field = (error.field or "form").removeprefix("inputs.")
        return await _builds_page(request, {field: str(error)}, values)
    return redirect(request, f"/builds/{run.id}")


@router.post("/builds/modes")
async def set_mode(request: Request, form: FormDep) -> Response:
    """Set a role's model chain for a mode and task kind, or (`reset`) go back to the file's."""
    builds = deck_of(request).builds
    values = {k: first(form, k) for k in form}
    key = (first(form, "mode"), first(form, "role"), first(form, "kind", "default"))
    try:
        if first(form, "action") == "reset":
            await builds.reset_mode(*key)
        else:
            models = [m for m in first(form, "models").replace(",", " ").split() if m]
            await builds.set_mode(*key, models)
    except InvalidInput as error:
        field = f"mode_{error.field or 'models'}"
        return await _builds_page(request, {field: str(error)}, values)
    return redirect(request, "/builds#h-modes")


@router.post("/builds/{run_id}/priority")
async def reprioritize(request: Request, run_id: RunId, form: FormDep) -> Response:
    """Move a build up or down the queue (from the queue's table)."""
    priority = _int(form, "priority", None)
    if priority is None:
        raise InvalidInput("give a priority from 0 to 1000", "priority")
    await deck_of(request).builds.reprioritize(run_id, priority)
    return redirect(request, "/builds")


async def _build_data(request: Request, run_id: str) -> BuildPageOut:
    view = await deck_of(request).builds.get(run_id)
    return BuildPageOut(build=view.as_json())


@router.get("/builds/{run_id}")
async def build_page(request: Request, run_id: RunId) -> Response:
    """A build: findings, plan with totals, phases with coloured diffs and tests, the gate."""
    data = await _build_data(request, run_id)
    context = {"page_key": "builds", "b": data.build, "gate_error": None}
    if request.query_params.get("fragment") == "live":
        return fragment(request, "_build_live.html", {"data": data, **context})
    return page(request, "build.html", data, context)


@router.post("/builds/{run_id}/gate")
async def decide_build_gate(request: Request, run_id: RunId, form: FormDep) -> Response:
    """Approve, reject or request changes at the build's gate."""
    deck = deck_of(request)
    comment = first(form, "comment").strip() or None
    try:
        await deck.builds.decide(run_id, first(form, "gate"), first(form, "decision"), comment)
    except InvalidInput as error:
        data = await _build_data(request, run_id)
        context = {"page_key": "builds", "b": data.build, "gate_error": str(error)}
        return page(request, "build.html", data, context, 422)
    return redirect(request, f"/builds/{run_id}")


async def _repositories_page(
    request: Request, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    deck = deck_of(request)
    rows = await deck.builds.repositories.list()
    costs = await deck.builds.cost_by_repository()
    data = RepositoriesPageOut(
        repositories=[
            {**repository_json(r), "builds_cost_usd": str(costs.get(r.id, 0))} for r in rows
        ]
    )
    context = {"page_key": "repositories", "errors": errors or {}}
    return page(request, "repositories.html", data, context, status)


@router.get("/repositories")
async def repositories_page(request: Request) -> Response:
    """Registered repositories, and forms to register or clone one."""
    return await _repositories_page(request)


@router.post("/repositories")
async def add_repository(request: Request, form: FormDep) -> Response:
    """Register a local path, or (with `source`) clone a path or URL."""
    repositories = deck_of(request).builds.repositories
    name = first(form, "name").strip() or None
    remote = first(form, "push_remote").strip() or None
    source = first(form, "source").strip()
    try:
        if source:
            row = await repositories.clone(source, name=name, push_remote=remote)
        else:
            row = await repositories.register(
                first(form, "path").strip(), name=name, push_remote=remote
            )
    except InvalidInput as error:
        return await _repositories_page(request, {error.field or "form": str(error)}, 422)
    except Conflict as error:
        return await _repositories_page(request, {"name": str(error)}, 409)
    return redirect(request, f"/repositories/{row.name}")


@router.get("/repositories/{key}")
async def repository_page(request: Request, key: RepoKey) -> Response:
    """A repository: its branches, recent commits and file tree."""
    view = await deck_of(request).builds.repositories.view(key)
    data = RepositoryPageOut(
        repository=repository_json(view.repository),
        head_branch=view.head_branch,
        branches=view.branches,
        commits=[c.__dict__ for c in view.commits],
        tree=view.tree,
        tree_total=view.tree_total,
    )
    return page(request, "repository.html", data, {"page_key": "repositories"})
