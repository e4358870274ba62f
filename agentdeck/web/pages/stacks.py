"""The stacks page (`/stacks`): every stack with its controls, the scale slider, the bulk
buttons and the form that creates a stack.

The form is validated by the API's own StackIn and the Deck: a bad field comes back on
the form, next to that field, with the API's message (422, or 409 for a taken name).
live.js refreshes the rows and the counts (`?fragment=rows|counts`) on every event and
every few seconds, so a stack's state and its last decision follow without a reload.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from agentdeck.deck import Deck
from agentdeck.domain.errors import Conflict, InvalidInput
from agentdeck.web.api.stack_reads import scale_out, stacks_out
from agentdeck.web.api.stacks import bulk_change, create
from agentdeck.web.errors import field_name
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page, redirect
from agentdeck.web.schemas.stacks import (
    STACK_ROLES,
    BulkAction,
    ScaleOut,
    StackIn,
    StackOut,
)
from agentdeck.web.sessions import Form, FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

FIELDS = ("name", "idea", *STACK_ROLES, "budget_usd", "max_concurrent", "auto_start")
SOURCES = {"file": "agents.yaml", "database": "stored agents"}


class AgentChoiceOut(BaseModel):
    """An agent the form offers for a role."""

    name: str
    role: str
    source: str


class StacksPageOut(BaseModel):
    """The JSON twin of `/stacks`: the stacks, counts by state, the scale, the form's choices."""

    stacks: list[StackOut]
    counts: dict[str, int]
    scale: ScaleOut
    state: str | None = Field(description="The state the list is narrowed to, if any.")
    roles: list[str]
    agents: list[AgentChoiceOut]

    @property
    def agent_groups(self) -> list[tuple[str, list[AgentChoiceOut]]]:
        """The agents by where they come from, agents.yaml first."""
        groups = [
            (label, [a for a in self.agents if a.source == source])
            for source, label in SOURCES.items()
        ]
        return [(label, members) for label, members in groups if members]


async def stacks_page_data(deck: Deck, state: str | None) -> StacksPageOut:
    listed = await stacks_out(deck, state)
    agents = [
        AgentChoiceOut(name=a.spec.name, role=a.spec.role, source=a.source)
        for a in await deck.agents.list()
    ]
    return StacksPageOut(
        stacks=listed.items,
        counts=listed.counts,
        scale=listed.scale,
        state=state,
        roles=list(STACK_ROLES),
        agents=agents,
    )


def default_values(data: StacksPageOut) -> dict[str, Any]:
    """An empty form: each role filled by its default agent (`stack-<role>`), else by the
    agent named like the role, else by one of that role."""
    values: dict[str, Any] = {k: "" for k in FIELDS}
    values.update(auto_start=False, max_concurrent="4")
    names = {a.name for a in data.agents}
    for role in STACK_ROLES:
        same_role = [a.name for a in data.agents if a.role == role]
        preferred = [n for n in (f"stack-{role}", role) if n in names]
        values[role] = (preferred or same_role or [""])[0]
    return values


def _values_of_form(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = {k: first(form, k) for k in FIELDS}
    values["auto_start"] = first(form, "auto_start") == "true"
    return values


def _body(values: dict[str, Any]) -> dict[str, Any]:
    """The StackIn a submitted form means; empty optional fields are left out."""
    body: dict[str, Any] = {
        "name": values["name"],
        "idea": values["idea"] or None,
        "agents": {role: values[role] for role in STACK_ROLES if values[role]},
        "auto_start": values["auto_start"],
    }
    budget = str(values["budget_usd"]).strip()
    if budget:
        body["budget_usd"] = budget
    most = str(values["max_concurrent"]).strip()
    if most:  # a number field: its text is a whole number, or the API's message says so
        body["max_concurrent"] = int(most) if most.isdigit() else most
    return body


def _error_field(field: str | None) -> str:
    """`roles.planner` is shown at the planner's select, `budget_usd` at the budget."""
    parts = [p for p in re.split(r"[.\[\]]", field or "") if p]
    for part in reversed(parts):
        if part in FIELDS:
            return part
    return "form"


def _form_page(
    request: Request,
    data: StacksPageOut,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    context = {
        "page_key": "stacks",
        "values": values,
        "errors": errors or {},
        "notice": notice,
    }
    return page(request, "stacks.html", data, context, status)


@router.get("/stacks")
async def stacks_page(
    request: Request, state: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    """The list; `?fragment=rows` and `?fragment=counts` are the parts live.js refreshes."""
    deck = deck_of(request)
    data = await stacks_page_data(deck, state or None)
    part = request.query_params.get("fragment")
    if part in ("rows", "counts"):
        return fragment(request, f"_stack_{part}.html", {"data": data})
    notice = {
        "start-all": "Started every idle or stopped stack and resumed every paused one.",
        "pause-all": "Paused every running stack.",
        "stop-all": "Stopped every stack.",
    }.get(request.query_params.get("done", ""))
    if notice and request.query_params.get("changed"):
        notice += f" ({request.query_params['changed']} changed)"
    return _form_page(request, data, default_values(data), notice=notice)


@router.post("/stacks/new")
async def create_stack(request: Request, form: FormDep) -> Response:
    """Create the stack; a bad field or a taken name comes back on the form (422, 409)."""
    deck = deck_of(request)
    values = _values_of_form(form)
    try:
        created = await create(deck, StackIn.model_validate(_body(values)))
    except ValidationError as error:
        problem = error.errors()[0]
        where = field_name(("body", *problem["loc"]))
        message = str(problem["msg"]).removeprefix("Value error, ")
        errors = {_error_field(where): f"{where}: {message}"}
        data = await stacks_page_data(deck, None)
        return _form_page(request, data, values, errors, 422)
    except (InvalidInput, Conflict) as error:
        status = 422 if isinstance(error, InvalidInput) else 409
        field = _error_field(getattr(error, "field", None) or "name")
        data = await stacks_page_data(deck, None)
        return _form_page(request, data, values, {field: str(error)}, status)
    return redirect(request, f"/stacks/{created.id}")


@router.post("/stacks/scale")
async def scale(request: Request, form: FormDep) -> Response:
    """The slider: how many agent executions may run at once across all stacks."""
    deck = deck_of(request)
    text = first(form, "limit").strip()
    if not text.isdigit():
        raise InvalidInput("the scale must be a whole number from 0 up", field="limit")
    top = (await scale_out(deck)).max
    if int(text) > top:
        raise InvalidInput(f"the scale goes from 0 to {top}", field="limit")
    await deck.stacks.set_scale(int(text))
    return redirect(request, "/stacks")


@router.post("/stacks/{action}")
async def bulk(request: Request, action: BulkAction, form: FormDep) -> Response:
    """Start-all, pause-all, stop-all: one click, one transaction."""
    done = await bulk_change(deck_of(request), action)
    return redirect(request, f"/stacks?done={action}&changed={done.changed}")
