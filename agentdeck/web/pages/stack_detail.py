"""The stack page (`/stacks/{id}`): state and controls, the last cycle's graph with each
role's detected work and the decision's reason, todos, messages, the broadcast channel,
artifacts, memory per agent, and every cycle.

live.js re-fetches the page's live part (`?fragment=live`) on every event and every two
seconds; the two forms (this stack's scale, a broadcast) sit outside it, so what a person
types is never replaced under their cursor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ValidationError

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.web import safe_html
from agentdeck.web.api.stack_reads import (
    agents_out,
    artifacts_out,
    broadcasts_out,
    cycles_out,
    memory_out,
    messages_out,
    scale_out,
    stack_out,
    todos_out,
)
from agentdeck.web.api.stacks import steer
from agentdeck.web.pages.stack_graph import cycle_graph_svg
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page, redirect
from agentdeck.web.schemas.stack_board import (
    AgentActivityOut,
    CycleOut,
    MemoryOut,
    MessageOut,
    StackArtifactOut,
    TodoOut,
)
from agentdeck.web.schemas.stacks import (
    MAX_SCALE,
    BroadcastIn,
    BudgetIn,
    ScaleOut,
    StackAction,
    StackOut,
)
from agentdeck.web.sessions import FormDep, first, local_path, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

StackId = Annotated[str, Path(max_length=100)]
CYCLES_SHOWN = 30
MESSAGES_SHOWN = 50


class StackPageOut(BaseModel):
    """The JSON twin of `/stacks/{id}`."""

    stack: StackOut
    scale: ScaleOut
    agents: list[AgentActivityOut]
    todos: list[TodoOut]
    messages: list[MessageOut]
    broadcasts: list[MessageOut]
    artifacts: list[StackArtifactOut]
    memory: list[MemoryOut]
    cycles: list[CycleOut]


async def stack_page_data(deck: Deck, stack_id: str) -> StackPageOut:
    """Everything the page shows, read through the same functions as the API."""
    stack = await stack_out(deck, await deck.stacks.get(stack_id))
    return StackPageOut(
        stack=stack,
        scale=await scale_out(deck),
        agents=await agents_out(deck, stack_id),
        todos=await todos_out(deck, stack_id),
        messages=await messages_out(deck, stack_id, MESSAGES_SHOWN),
        broadcasts=await broadcasts_out(deck, MESSAGES_SHOWN),
        artifacts=await artifacts_out(deck, stack_id),
        memory=await memory_out(deck, stack_id),
        cycles=await cycles_out(deck, stack_id, CYCLES_SHOWN),
    )


def _context(error: str | None = None) -> dict[str, object]:
    return {"page_key": "stacks", "graph_svg": cycle_graph_svg, "error": error}


async def _page(request: Request, stack_id: str, error: str | None, status: int) -> Response:
    data = await stack_page_data(deck_of(request), stack_id)
    return page(request, "stack.html", data, _context(error), status)


@router.get("/stacks/{stack_id}")
async def stack_page(request: Request, stack_id: StackId) -> Response:
    """The stack; `?fragment=live` is the part live.js refreshes."""
    if request.query_params.get("fragment") == "live":
        data = await stack_page_data(deck_of(request), stack_id)
        return fragment(request, "_stack_live.html", {"data": data, **_context()})
    return await _page(request, stack_id, None, 200)


@router.get("/stacks/{stack_id}/artifacts/{artifact_id}")
async def artifact_page(
    request: Request, stack_id: StackId, artifact_id: Annotated[str, Path(max_length=100)]
) -> Response:
    """One artifact, rendered as sanitized HTML (its raw content is on the API)."""
    deck = deck_of(request)
    stack = await stack_out(deck, await deck.stacks.get(stack_id))
    artifact = await deck.stacks.artifact(stack_id, artifact_id)
    data = StackArtifactOut.of(artifact)
    html = safe_html.artifact_html(artifact.name, data.media_type, artifact.content)
    context = {"page_key": "stacks", "stack": stack, "html": html}
    return page(request, "stack_artifact.html", data, context)


@router.post("/stacks/{stack_id}/scale")
async def stack_scale(request: Request, stack_id: StackId, form: FormDep) -> Response:
    """This stack's own scale (empty: only the global one); a bad number is shown (422)."""
    text = first(form, "limit").strip()
    if text and (not text.isdigit() or int(text) > MAX_SCALE):
        message = f"this stack's scale: a whole number from 0 to {MAX_SCALE}, or empty"
        return await _page(request, stack_id, message, 422)
    await deck_of(request).stacks.set_scale(int(text) if text else None, stack_id=stack_id)
    return redirect(request, f"/stacks/{stack_id}")


@router.post("/stacks/{stack_id}/budget")
async def budget(request: Request, stack_id: StackId, form: FormDep) -> Response:
    """A new budget (empty: no limit); a bad amount is shown on the page (422)."""
    try:
        amount = BudgetIn(budget_usd=first(form, "budget_usd").strip() or None)
    except ValidationError as error:
        message = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        return await _page(request, stack_id, f"budget: {message}", 422)
    await deck_of(request).stacks.set_budget(stack_id, amount.budget_usd)
    return redirect(request, f"/stacks/{stack_id}")


@router.post("/stacks/{stack_id}/broadcast")
async def broadcast(request: Request, stack_id: StackId, form: FormDep) -> Response:
    """Post on the broadcast channel every stack's agents read."""
    try:
        body = BroadcastIn(body=first(form, "body"))
    except ValidationError as error:
        message = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        return await _page(request, stack_id, f"broadcast: {message}", 422)
    try:
        await deck_of(request).stacks.broadcast(body.body, stack_id=stack_id)
    except InvalidInput as error:
        return await _page(request, stack_id, str(error), 422)
    return redirect(request, f"/stacks/{stack_id}")


@router.post("/stacks/{stack_id}/{action}")
async def steer_stack(
    request: Request, stack_id: StackId, action: StackAction, form: FormDep
) -> Response:
    """Start, pause, resume or stop one stack; back to where the button was."""
    await steer(deck_of(request), stack_id, action)
    return redirect(request, local_path(first(form, "next") or f"/stacks/{stack_id}"))
