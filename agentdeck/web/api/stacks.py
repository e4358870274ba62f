"""/api/stacks and /api/broadcasts: create, list, read, steer and scale stacks; their todos,
messages, artifacts, memory and cycles (with each decision's reason); the broadcast channel.

A refused change of state (starting a stopped stack, pausing an idle one) is a 409 that
names the state; bad input is a 422 naming the field. The dashboard's pages call the same
functions (`stacks_out`, `stack_out`, ...), so a page and its JSON twin never disagree.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from agentdeck.deck import Deck
from agentdeck.domain.errors import Conflict, NotFound
from agentdeck.web.api.runs import ARTIFACT_HEADERS
from agentdeck.web.api.stack_reads import (
    agents_out,
    artifacts_out,
    broadcasts_out,
    cycles_out,
    memory_out,
    messages_out,
    scale_out,
    stack_out,
    stacks_out,
    todos_out,
)
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses
from agentdeck.web.schemas.stack_board import (
    AgentActivityOut,
    CycleOut,
    MemoryOut,
    MessageOut,
    StackArtifactOut,
    TodoOut,
)
from agentdeck.web.schemas.stacks import (
    BroadcastIn,
    BudgetIn,
    BulkAction,
    BulkOut,
    ScaleIn,
    ScaleOut,
    StackAction,
    StackIn,
    StackOut,
    StacksOut,
    media_type_of,
)

router = APIRouter(tags=["stacks"])

StackId = Annotated[str, Path(max_length=100, description="A stack id, e.g. stk_01h...")]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/api/stacks", responses=responses(401, 422))
async def list_stacks(
    deck: DeckDep,
    state: Annotated[
        str | None, Query(max_length=20, description="Only stacks in this state.")
    ] = None,
) -> StacksOut:
    """Every stack in the order they were created, the counts by state, the scale control."""
    return await stacks_out(deck, state or None)


@router.post("/api/stacks", status_code=201, responses=responses(400, 401, 409, 422))
async def create_stack(deck: DeckDep, body: StackIn) -> StackOut:
    """Create a stack (and start it with `auto_start`); 409 if the name is taken."""
    return await create(deck, body)


async def create(deck: Deck, body: StackIn) -> StackOut:
    """The stack `body` describes, created in one transaction; 409 if the name is taken."""
    with contextlib.suppress(NotFound):
        taken = await deck.stacks.get(body.name)
        raise Conflict(f"a stack named {taken.name!r} already exists: choose another name")
    stack = await deck.stacks.create(
        body.name,
        idea=body.idea,
        agents=body.agents.chosen(),
        budget_usd=body.budget_usd,
        max_concurrent=body.max_concurrent,
        auto_start=body.auto_start,
    )
    return await stack_out(deck, stack)


@router.get("/api/stacks/scale", responses=responses(401))
async def get_scale(deck: DeckDep) -> ScaleOut:
    """The global scale control: agent executions at once, across all stacks."""
    return await scale_out(deck)


@router.put("/api/stacks/scale", responses=responses(400, 401, 422))
async def put_scale(deck: DeckDep, body: ScaleIn) -> ScaleOut:
    """Change the global limit; it applies at the next dispatch (0 holds every stack; null:
    back to the setting's value)."""
    return ScaleOut.of(await deck.stacks.set_scale(body.limit))


@router.post("/api/stacks/{action}", responses=responses(401, 409, 422))
async def bulk(deck: DeckDep, action: BulkAction) -> BulkOut:
    """start-all (idle and stopped stacks start, paused ones resume), pause-all or stop-all:
    every stack the move applies to, in one transaction per move."""
    return await bulk_change(deck, action)


async def bulk_change(deck: Deck, action: BulkAction) -> BulkOut:
    """Start-all starts idle and stopped stacks and resumes paused ones, as its button says."""
    if action == "start-all":
        changed = await deck.stacks.start_all() + await deck.stacks.resume_all()
    elif action == "pause-all":
        changed = await deck.stacks.pause_all()
    else:
        changed = await deck.stacks.stop_all()
    return BulkOut(action=action, changed=len(changed), ids=[s.id for s in changed])


@router.get("/api/stacks/{stack_id}", responses=responses(401, 404, 422))
async def get_stack(deck: DeckDep, stack_id: StackId) -> StackOut:
    """One stack."""
    return await stack_out(deck, await deck.stacks.get(stack_id))


@router.post("/api/stacks/{stack_id}/{action}", responses=responses(401, 404, 409, 422))
async def steer_stack(deck: DeckDep, stack_id: StackId, action: StackAction) -> StackOut:
    """start (idle), pause (running), resume (paused) or stop (any but stopped)."""
    return await steer(deck, stack_id, action)


async def steer(deck: Deck, stack_id: str, action: StackAction) -> StackOut:
    commands = {
        "start": deck.stacks.start,
        "pause": deck.stacks.pause,
        "resume": deck.stacks.resume,
        "stop": deck.stacks.stop,
    }
    return await stack_out(deck, await commands[action](stack_id))


@router.put("/api/stacks/{stack_id}/scale", responses=responses(400, 401, 404, 422))
async def put_stack_scale(deck: DeckDep, stack_id: StackId, body: ScaleIn) -> StackOut:
    """This stack's own cap on agent executions at once; applies at its next dispatch (0 holds
    it; null: only the global scale applies)."""
    await deck.stacks.set_scale(body.limit, stack_id=stack_id)
    return await stack_out(deck, await deck.stacks.get(stack_id))


@router.put("/api/stacks/{stack_id}/budget", responses=responses(400, 401, 404, 422))
async def put_budget(deck: DeckDep, stack_id: StackId, body: BudgetIn) -> StackOut:
    """Change the stack's budget (null: no limit); a stack paused by its budget then waits
    for a resume."""
    return await stack_out(deck, await deck.stacks.set_budget(stack_id, body.budget_usd))


@router.get("/api/stacks/{stack_id}/todos", responses=responses(401, 404, 422))
async def list_todos(
    deck: DeckDep,
    stack_id: StackId,
    status: Annotated[
        str | None, Query(max_length=20, description="pending, in_progress or done.")
    ] = None,
) -> list[TodoOut]:
    """The stack's todos."""
    return await todos_out(deck, stack_id, status or None)


@router.get("/api/stacks/{stack_id}/messages", responses=responses(401, 404, 422))
async def list_messages(
    deck: DeckDep,
    stack_id: StackId,
    to_role: Annotated[str | None, Query(max_length=20, description="Sent to this role.")] = None,
    unread: Annotated[bool, Query(description="Only those not read yet.")] = False,
    limit: Limit = 100,
) -> list[MessageOut]:
    """Messages between the stack's agents (recommendations included), newest first, each
    with when its recipient read it."""
    return await messages_out(deck, stack_id, limit, to_role=to_role or None, unread=unread)


@router.get("/api/stacks/{stack_id}/artifacts", responses=responses(401, 404, 422))
async def list_artifacts(deck: DeckDep, stack_id: StackId) -> list[StackArtifactOut]:
    """What the stack's agents produced, without the content."""
    return await artifacts_out(deck, stack_id)


@router.get(
    "/api/stacks/{stack_id}/artifacts/{artifact_id}",
    response_class=Response,
    responses={
        200: {"description": "The content.", "content": {"*/*": {"schema": {}}}},
        **responses(401, 404, 422),
    },
)
async def get_artifact(
    deck: DeckDep, stack_id: StackId, artifact_id: Annotated[str, Path(max_length=100)]
) -> Response:
    """The raw content of one of the stack's artifacts."""
    artifact = await deck.stacks.artifact(stack_id, artifact_id)
    media_type = media_type_of(artifact.name)
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type += "; charset=utf-8"
    return Response(artifact.content, media_type=media_type, headers=ARTIFACT_HEADERS)


@router.get("/api/stacks/{stack_id}/agents", responses=responses(401, 404, 422))
async def list_agents(deck: DeckDep, stack_id: StackId) -> list[AgentActivityOut]:
    """The agent of each role: its last work detection (priority and reason, cached for a
    few seconds) and its activity (status, executions, failures, last error)."""
    return await agents_out(deck, stack_id)


@router.get("/api/stacks/{stack_id}/memory", responses=responses(401, 404, 422))
async def list_memory(deck: DeckDep, stack_id: StackId) -> list[MemoryOut]:
    """Each agent's memory in the stack: its summary and recent entries."""
    return await memory_out(deck, stack_id)


@router.get("/api/stacks/{stack_id}/cycles", responses=responses(401, 404, 422))
async def list_cycles(
    deck: DeckDep,
    stack_id: StackId,
    before: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Only cycles numbered below this.")
    ] = None,
    limit: Limit = 50,
) -> list[CycleOut]:
    """Cycles, newest first: work detected per role, the graph's nodes, the decision and why;
    pass the last number seen as `before` for older ones."""
    return await cycles_out(deck, stack_id, limit, before=before)


@router.get("/api/broadcasts", responses=responses(401, 422))
async def list_broadcasts(deck: DeckDep, limit: Limit = 100) -> list[MessageOut]:
    """The broadcast channel shared by every stack, newest first."""
    return await broadcasts_out(deck, limit)


@router.post("/api/broadcasts", status_code=201, responses=responses(400, 401, 422))
async def post_broadcast(deck: DeckDep, body: BroadcastIn) -> MessageOut:
    """Post on the broadcast channel as a person; every stack's communicator reads it."""
    return MessageOut.of(await deck.stacks.broadcast(body.body))
