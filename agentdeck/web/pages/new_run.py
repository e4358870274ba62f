"""Start a run (`/runs/new`): pick a workflow, fill the form made from its input schema.

On submit the run is queued through the Deck, as `POST /api/runs` does, and the browser
lands on the new run's page. A bad input comes back as the form again (HTTP 422) with
the API's message next to the field it names (`inputs.max_attempts`, `workflow`...).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from agentdeck.deck import MAX_PRIORITY, PRIORITY_HELP, Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.web.pages.plan_preview import preview_of
from agentdeck.web.pages.schema_form import FormField, fields_of, inputs_of
from agentdeck.web.pages.templating import PageRoute, deck_of, fragment, page, redirect
from agentdeck.web.schemas import AgentOut, WorkflowOut
from agentdeck.web.sessions import Form, FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)


class NewRunPageOut(BaseModel):
    """The JSON twin of `/runs/new`: the workflows (with input schemas) and the agents."""

    workflows: list[WorkflowOut]
    selected: str | None = Field(description="The workflow whose form is shown.")
    agents: list[AgentOut]


async def _data(deck: Deck, workflow: str | None) -> NewRunPageOut:
    workflows = [WorkflowOut.of(w) for w in deck.registry.list()]
    names = [w.name for w in workflows]
    if workflow not in names:
        workflow = "loop" if "loop" in names else (names[0] if names else None)
    agents = [AgentOut.of(a) for a in await deck.agents.list()]
    return NewRunPageOut(workflows=workflows, selected=workflow, agents=agents)


def _form_page(
    request: Request,
    data: NewRunPageOut,
    values: Form | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    chosen = next((w for w in data.workflows if w.name == data.selected), None)
    fields: list[FormField] = (
        fields_of(chosen.input_schema, data.agents, values, errors) if chosen else []
    )
    errors = errors or {}
    shown = {f.name for f in fields} | {"priority"}
    preview = preview_of(deck_of(request), fields)
    context = {
        "page_key": "new",
        "workflow": chosen,
        "fields": fields,
        "priority": first(values, "priority", "0") if values else "0",
        "priority_error": errors.get("priority"),
        "max_priority": MAX_PRIORITY,
        "priority_help": PRIORITY_HELP,
        "form_error": next((m for f, m in errors.items() if f not in shown), None),
        "preview": preview,
    }
    return page(request, "new_run.html", data, context, status)


@router.get("/runs/new")
async def new_run_form(
    request: Request, workflow: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    """The form for `workflow` (the loop, or the first workflow, when none is named)."""
    return _form_page(request, await _data(deck_of(request), workflow))


def _field_of_error(field: str | None, names: set[str]) -> str:
    """The form field an API error names: `inputs.task.topic` is shown at `inputs.task`."""
    if not field:
        return "form"
    parts = field.replace("[", ".").split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in names:
            return candidate
    return field


@router.post("/runs/new/preview")
async def preview_plan(request: Request, form: FormDep) -> Response:
    """The plan field's preview, as a fragment live.js puts under the field."""
    deck = deck_of(request)
    data = await _data(deck, first(form, "workflow"))
    chosen = next((w for w in data.workflows if w.name == data.selected), None)
    preview = (
        preview_of(deck, fields_of(chosen.input_schema, data.agents, form)) if chosen else None
    )
    if preview is None:
        return Response("This workflow takes no plan.", status_code=404, media_type="text/plain")
    return fragment(request, "_plan_preview.html", {"preview": preview})


@router.post("/runs/new")
async def start_run(request: Request, form: FormDep) -> Response:
    """Queue the run and go to its page; errors are shown on the form. The "Preview
    tasks" button (intent=preview) shows the form again with the plan's tasks."""
    deck = deck_of(request)
    data = await _data(deck, first(form, "workflow"))
    if first(form, "intent") == "preview" and first(form, "workflow") == data.selected:
        return _form_page(request, data, form)
    chosen = next((w for w in data.workflows if w.name == data.selected), None)
    if chosen is None or chosen.name != first(form, "workflow"):
        errors = {"workflow": f"workflow: pick one of {', '.join(w.name for w in data.workflows)}"}
        return _form_page(request, data, form, errors, 422)
    fields = fields_of(chosen.input_schema, data.agents, form)
    inputs, errors = inputs_of(fields)
    priority_text = first(form, "priority", "0").strip() or "0"
    try:
        priority = int(priority_text)
    except ValueError:
        errors["priority"] = "priority: must be a whole number"
        priority = 0
    if errors:
        return _form_page(request, data, form, errors, 422)
    try:
        run = await deck.submit(chosen.name, inputs, priority=priority)
    except InvalidInput as error:
        names = {f.name for f in fields} | {"priority", "workflow"}
        return _form_page(
            request, data, form, {_field_of_error(error.field, names): str(error)}, 422
        )
    return redirect(request, f"/runs/{run.id}")
