"""The schedules page (`/schedules`): each schedule with its next due time and last run, a
form to add one, and buttons to enable, disable or remove one. Times are UTC."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel

from agentdeck.deck.schedules import schedule_json
from agentdeck.domain.errors import Conflict, InvalidInput
from agentdeck.domain.schedules import SPEC_HELP
from agentdeck.web.pages.templating import PageRoute, deck_of, page, redirect
from agentdeck.web.sessions import FormDep, first, require_sign_in

router = APIRouter(
    tags=["dashboard"],
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(require_sign_in)],
)
ScheduleKey = Annotated[str, Path(max_length=100)]


class SchedulesPageOut(BaseModel):
    """The JSON twin of `/schedules` (the same items as `GET /api/schedules`)."""

    schedules: list[dict[str, Any]]
    workflows: list[str]


async def _schedules_page(
    request: Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    deck = deck_of(request)
    data = SchedulesPageOut(
        schedules=[schedule_json(s) for s in await deck.schedules.list()],
        workflows=[w.name for w in deck.registry.list()],
    )
    context = {
        "page_key": "schedules",
        "errors": errors or {},
        "values": values or {},
        "spec_help": SPEC_HELP,
    }
    return page(request, "schedules.html", data, context, status)


@router.get("/schedules")
async def schedules_page(request: Request) -> Response:
    return await _schedules_page(request)


@router.post("/schedules")
async def add_schedule(request: Request, form: FormDep) -> Response:
    values = {k: first(form, k).strip() for k in ("name", "workflow", "spec", "inputs")}
    try:
        try:
            inputs = json.loads(values["inputs"] or "{}")
        except json.JSONDecodeError as error:
            raise InvalidInput(f"inputs are not JSON: {error}", field="inputs") from None
        if not isinstance(inputs, dict):
            raise InvalidInput("inputs must be a JSON object", field="inputs")
        await deck_of(request).schedules.add(
            values["name"], values["workflow"], values["spec"], inputs
        )
    except InvalidInput as error:
        field = error.field if error.field in values else "inputs" if error.field else "form"
        return await _schedules_page(request, {field: str(error)}, 422, values)
    except Conflict as error:
        return await _schedules_page(request, {"name": str(error)}, 409, values)
    return redirect(request, "/schedules")


@router.post("/schedules/{key}/{action}")
async def change_schedule(
    request: Request, key: ScheduleKey, action: str, form: FormDep
) -> Response:
    """enable, disable or remove; NotFound (404) for an unknown schedule or action."""
    schedules = deck_of(request).schedules
    if action == "enable":
        await schedules.enable(key)
    elif action == "disable":
        await schedules.disable(key)
    elif action == "remove":
        await schedules.remove(key)
    else:
        return await _schedules_page(request, {"form": f"unknown action {action[:40]!r}"}, 404)
    return redirect(request, "/schedules")
