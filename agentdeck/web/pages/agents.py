"""The agents pages: `/agents` (list with runs and cost), `/agents/new` and `/agents/{name}`.

Agents of agents.yaml are shown read-only, with the file to edit; agents stored in the
database are created, changed and deleted here through the same catalog the API uses,
so a bad field comes back with the API's message, shown next to that field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from agentdeck.deck import MAX_PAGE, Deck
from agentdeck.deck.agents import ROLES
from agentdeck.domain.errors import Conflict, InvalidInput
from agentdeck.domain.runs import RunFilter
from agentdeck.domain.usage import UsageTotal
from agentdeck.web.pages.templating import PageRoute, deck_of, page, redirect
from agentdeck.web.schemas import AgentOut
from agentdeck.web.sessions import Form, FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)

AgentName = Annotated[str, Path(max_length=100)]
OPTIONAL_NUMBERS = (
    "temperature",
    "budget_usd",
    "max_concurrency",
    "requests_per_minute",
    "tokens_per_minute",
    "timeout_s",
)
FIELDS = ("name", "role", "description", "models", "instructions", "skills", "tools",
          "max_output_tokens", *OPTIONAL_NUMBERS)  # fmt: skip


class AgentUsageOut(BaseModel):
    """An agent with the runs that used it and what its model calls cost so far."""

    agent: AgentOut
    runs: int = Field(description="Runs using the agent, counted up to 500.")
    runs_counted_to_limit: bool = Field(description="More runs than counted.")
    calls: int
    cost_usd: str
    unpriced_calls: int
    input_tokens: int
    output_tokens: int


class AgentsPageOut(BaseModel):
    """The JSON twin of `/agents`."""

    agents: list[AgentUsageOut]
    agents_file: str = Field(description="The file read-only agents come from.")


class AgentFormOut(BaseModel):
    """The JSON twin of `/agents/new` and `/agents/{name}`: the agent, and the choices."""

    agent: AgentUsageOut | None
    roles: list[str]
    skills: list[str]
    tools: list[str]


async def _usage(
    deck: Deck, agent: AgentOut, totals: dict[str | None, UsageTotal]
) -> AgentUsageOut:
    runs = await deck.list(RunFilter(agent=agent.name), limit=MAX_PAGE)
    total = totals.get(agent.name)
    return AgentUsageOut(
        agent=agent,
        runs=len(runs.items),
        runs_counted_to_limit=runs.next_cursor is not None,
        calls=total.calls if total else 0,
        cost_usd=f"{(total.cost_usd if total else Decimal(0)).normalize():f}",
        unpriced_calls=total.unpriced_calls if total else 0,
        input_tokens=total.input_tokens if total else 0,
        output_tokens=total.output_tokens if total else 0,
    )


async def _totals(deck: Deck) -> dict[str | None, UsageTotal]:
    return {t.key: t for t in await deck.costs.by_agent()}


@router.get("/agents")
async def agents_page(request: Request) -> Response:
    """Every agent: agents.yaml's first (read-only), then those created here."""
    deck = deck_of(request)
    totals = await _totals(deck)
    agents = [await _usage(deck, AgentOut.of(a), totals) for a in await deck.agents.list()]
    data = AgentsPageOut(agents=agents, agents_file=str(deck.agents.file))
    return page(request, "agents.html", data, {"page_key": "agents"})


def _choices(deck: Deck, agent: AgentUsageOut | None) -> AgentFormOut:
    return AgentFormOut(
        agent=agent,
        roles=list(ROLES),
        skills=deck.agents.skills.names(),
        tools=deck.agents.tools.names(),
    )


def _values_of(agent: AgentOut) -> dict[str, Any]:
    values: dict[str, Any] = agent.model_dump()
    values["models"] = "\n".join(agent.models)
    for key in ("temperature", "max_output_tokens", *OPTIONAL_NUMBERS):
        values[key] = "" if values.get(key) is None else str(values[key])
    return values


def _values_of_form(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = {k: first(form, k) for k in FIELDS}
    values["skills"] = form.get("skills", [])
    values["tools"] = form.get("tools", [])
    return values


def _form(
    request: Request,
    data: AgentFormOut,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    agent = data.agent.agent if data.agent else None
    context = {
        "page_key": "agents",
        "agent": agent,
        "creating": agent is None,
        "values": values,
        "errors": errors or {},
    }
    return page(request, "agent_form.html", data, context, status)


def _body(form: Form, creating: bool) -> dict[str, Any]:
    """The spec a submitted form means; empty optional numbers clear the field."""
    body: dict[str, Any] = {
        "role": first(form, "role").strip(),
        "description": first(form, "description").strip(),
        "models": [m.strip() for m in first(form, "models").splitlines() if m.strip()],
        "instructions": first(form, "instructions").strip(),
        "skills": form.get("skills", []),
        "tools": form.get("tools", []),
    }
    if creating:
        body["name"] = first(form, "name").strip()
        if not body["models"]:
            del body["models"]  # the default: the simulator
    tokens = first(form, "max_output_tokens").strip()
    if tokens:
        body["max_output_tokens"] = tokens
    for key in OPTIONAL_NUMBERS:
        text = first(form, key).strip()
        if text or not creating:
            body[key] = text or None
    return body


def _error_field(error: InvalidInput) -> str:
    """`models[0]` is shown at `models`, `budget_usd` at `budget_usd`."""
    root = re.split(r"[.\[]", error.field or "")[0]
    return root if root in FIELDS else "form"


@router.get("/agents/new")
async def new_agent_form(request: Request) -> Response:
    """An empty form for a new agent (stored in the database)."""
    values: dict[str, Any] = {k: "" for k in FIELDS}
    values.update(skills=[], tools=[], models="simulator", max_output_tokens="2048")
    return _form(request, _choices(deck_of(request), None), values)


@router.post("/agents/new")
async def create_agent(request: Request, form: FormDep) -> Response:
    """Create the agent; a bad field or a taken name comes back on the form (422, 409)."""
    deck = deck_of(request)
    try:
        created = await deck.agents.create(_body(form, creating=True))
    except InvalidInput as error:
        errors = {_error_field(error): str(error)}
        return _form(request, _choices(deck, None), _values_of_form(form), errors, 422)
    except Conflict as error:
        errors = {"name": str(error)}
        return _form(request, _choices(deck, None), _values_of_form(form), errors, 409)
    return redirect(request, f"/agents/{created.name}?saved=1")


@router.get("/agents/{name}")
async def agent_page(request: Request, name: AgentName) -> Response:
    """The agent's form: editable if stored in the database, read-only if from agents.yaml."""
    deck = deck_of(request)
    agent = AgentOut.of(await deck.agents.get(name))
    usage = await _usage(deck, agent, await _totals(deck))
    return _form(request, _choices(deck, usage), _values_of(agent))


@router.post("/agents/{name}")
async def update_agent(request: Request, name: AgentName, form: FormDep) -> Response:
    """Save the changes; a bad field comes back on the form next to that field."""
    deck = deck_of(request)
    agent = AgentOut.of(await deck.agents.get(name))
    try:
        await deck.agents.update(name, _body(form, creating=False))
    except (InvalidInput, Conflict) as error:
        usage = await _usage(deck, agent, await _totals(deck))
        values = {**_values_of_form(form), "name": name}
        if isinstance(error, InvalidInput):
            errors, status = {_error_field(error): str(error)}, 422
        else:
            errors, status = {"form": str(error)}, 409
        return _form(request, _choices(deck, usage), values, errors, status)
    return redirect(request, f"/agents/{name}?saved=1")


@router.post("/agents/{name}/delete")
async def delete_agent(request: Request, name: AgentName, form: FormDep) -> Response:
    """Delete a stored agent (agents.yaml's cannot be: 409)."""
    await deck_of(request).agents.delete(name)
    return redirect(request, "/agents")
