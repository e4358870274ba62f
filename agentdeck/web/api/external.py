"""The external-agent protocol (agents send their own token) and its admin routes.

Agents: `GET /api/agents/{id}/work?wait=30` long-polls for a task under a lease (204 if
none came); `POST /api/tasks/{id}/events` reports progress, heartbeat, artifact,
completed, failed or blocked, with the lease id (409 when the lease is not theirs).
Admins: `/api/external-agents` registers (the token is shown once), lists, revokes and
deletes them. See docs/external-agents.md.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentdeck.deck import Deck
from agentdeck.deck.tasks import AgentUnauthorized, Report
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses
from agentdeck.web.schemas import (
    ArtifactIn,
    BlockedIn,
    CompletedIn,
    ErrorOut,
    ExternalAgentCreatedOut,
    ExternalAgentIn,
    ExternalAgentOut,
    FailedIn,
    LeaseOut,
    ProgressIn,
    ReportIn,
    ReportOut,
    WorkOut,
    WorkTask,
)

T = TypeVar("T")
MAX_WAIT = 60.0

agent_router = APIRouter(tags=["external agents: protocol"])
admin_router = APIRouter(tags=["external agents"])

agent_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ExternalAgentToken",
    description="The external agent's own token (`adx_...`), shown once when it was registered.",
)
AGENT_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    # the agent routes check the agent's own token, whether or not AGENTDECK_TOKEN is set
    401: {
        "model": ErrorOut,
        "description": "The external agent's token is missing, unknown or revoked (always "
        "checked; the server's AGENTDECK_TOKEN is not an agent's token).",
    },
    403: {"model": ErrorOut, "description": "The token is another external agent's."},
}
AgentId = Annotated[str, Path(max_length=40, description="The external agent's id (xa_...).")]
TaskId = Annotated[str, Path(max_length=120, description="The task's id from the claim.")]


def agent_token(
    credentials: HTTPAuthorizationCredentials | None = Depends(agent_bearer),
) -> str | None:
    return credentials.credentials if credentials is not None else None


TokenDep = Annotated[str | None, Depends(agent_token)]


async def _as_agent(call: Awaitable[T]) -> T:
    try:
        return await call
    except AgentUnauthorized as error:
        raise HTTPException(
            error.status, str(error), headers={"WWW-Authenticate": "Bearer"}
        ) from None


# --- the protocol ----------------------------------------------------------------


@agent_router.get(
    "/api/agents/{agent_id}/work",
    response_model=WorkOut,
    responses={
        204: {"description": "No task came within `wait` seconds: poll again."},
        **responses(401, 404, 422),
        **AGENT_AUTH_ERRORS,
    },
)
async def next_work(
    deck: DeckDep,
    agent_id: AgentId,
    token: TokenDep,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for a task.")
    ] = 30,
) -> WorkOut | Response:
    """Long poll: a task this agent can do, under a new lease; 204 if none came in time."""
    task = await _as_agent(deck.tasks.next_task(token, agent_id, wait))
    if task is None:
        return Response(status_code=204)
    assert task.lease_id is not None
    assert task.lease_expires_at is not None
    return WorkOut(
        task=WorkTask(
            id=task.id,
            key=task.key,
            run_id=task.run_id,
            title=task.title,
            description=task.description,
            role=task.role,
            attempt=task.attempt,
            subtask_of=task.parent_key,
        ),
        inputs=task.inputs,
        lease=LeaseOut(
            id=task.lease_id,
            expires_at=task.lease_expires_at,
            interval_s=deck.settings.task_lease_interval.total_seconds(),
        ),
        report_url=f"/api/tasks/{task.id}/events",
    )


@agent_router.post(
    "/api/tasks/{task_id}/events",
    responses={**responses(400, 401, 404, 409, 422), **AGENT_AUTH_ERRORS},
)
async def report(deck: DeckDep, task_id: TaskId, token: TokenDep, body: ReportIn) -> ReportOut:
    """Report on a task held under the lease `lease_id` (409 when that lease is not current)."""
    task = await _as_agent(deck.tasks.report(token, task_id, _report(body)))
    return ReportOut(task_id=task.id, status=task.status, lease_expires_at=task.lease_expires_at)


def _report(body: ReportIn) -> Report:
    report = Report(type=body.type, lease_id=body.lease_id)
    if isinstance(body, ProgressIn):
        return replace(report, progress=body.progress, message=body.message)
    if isinstance(body, ArtifactIn):
        return replace(
            report,
            artifact_name=body.name,
            artifact_content=body.content,
            media_type=body.media_type,
        )
    if isinstance(body, CompletedIn):
        return replace(report, output=body.output)
    if isinstance(body, FailedIn):
        return replace(report, error=body.error, retryable=body.retryable)
    if isinstance(body, BlockedIn):
        return replace(report, reason=body.reason)
    return report


# --- admin -------------------------------------------------------------------------


async def _view(deck: Deck, agent_id: str) -> ExternalAgentOut:
    for agent, held in await deck.tasks.external_agents():
        if agent.id == agent_id:
            return ExternalAgentOut.of(agent, held)
    return ExternalAgentOut.of(await deck.tasks.external_agent(agent_id))


@admin_router.post("/api/external-agents", status_code=201, responses=responses(400, 401, 409, 422))
async def register_agent(deck: DeckDep, body: ExternalAgentIn) -> ExternalAgentCreatedOut:
    """Register an external agent; its token is in this answer only (stored as a hash)."""
    registered = await deck.tasks.register(body.name, body.capabilities, body.description)
    view = ExternalAgentOut.of(registered.agent)
    return ExternalAgentCreatedOut(**view.model_dump(), token=registered.token)


@admin_router.get("/api/external-agents", responses=responses(401))
async def list_agents(deck: DeckDep) -> list[ExternalAgentOut]:
    """External agents by name: status, last seen, tasks in hand."""
    return [ExternalAgentOut.of(a, n) for a, n in await deck.tasks.external_agents()]


@admin_router.get("/api/external-agents/{agent_id}", responses=responses(401, 404, 422))
async def get_agent(deck: DeckDep, agent_id: AgentId) -> ExternalAgentOut:
    """One external agent."""
    return await _view(deck, agent_id)


@admin_router.post("/api/external-agents/{agent_id}/revoke", responses=responses(401, 404, 422))
async def revoke_agent(deck: DeckDep, agent_id: AgentId) -> ExternalAgentOut:
    """Revoke its token now; the tasks it holds return to the pool."""
    await deck.tasks.revoke(agent_id)
    return await _view(deck, agent_id)


@admin_router.delete(
    "/api/external-agents/{agent_id}",
    status_code=204,
    response_class=Response,
    responses=responses(401, 404, 409, 422),
)
async def delete_agent(deck: DeckDep, agent_id: AgentId) -> Response:
    """Delete a revoked external agent (409 until it is revoked)."""
    await deck.tasks.delete_external_agent(agent_id)
    return Response(status_code=204)
