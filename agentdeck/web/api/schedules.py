"""/api/schedules: workflows submitted on a cron-like spec (times UTC)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from agentdeck.deck.schedules import schedule_json
from agentdeck.domain.schedules import SPEC_HELP
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses

router = APIRouter(tags=["schedules"])
ScheduleKey = Annotated[str, Path(max_length=100, description="The schedule's id or name.")]


class ScheduleIn(BaseModel):
    """A schedule to add."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    workflow: str = Field(min_length=1, max_length=100)
    spec: str = Field(min_length=1, max_length=100, description=SPEC_HELP)
    inputs: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class ScheduleChange(BaseModel):
    """Enable or disable a schedule."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool


@router.get("/api/schedules", responses=responses(401, 422))
async def list_schedules(deck: DeckDep) -> list[dict[str, Any]]:
    return [schedule_json(s) for s in await deck.schedules.list()]


@router.post("/api/schedules", status_code=201, responses=responses(401, 409, 422))
async def add_schedule(deck: DeckDep, body: ScheduleIn) -> dict[str, Any]:
    row = await deck.schedules.add(
        body.name, body.workflow, body.spec, body.inputs, enabled=body.enabled
    )
    return schedule_json(row)


@router.get("/api/schedules/{key}", responses=responses(401, 404, 422))
async def get_schedule(deck: DeckDep, key: ScheduleKey) -> dict[str, Any]:
    return schedule_json(await deck.schedules.get(key))


@router.patch("/api/schedules/{key}", responses=responses(401, 404, 422))
async def change_schedule(deck: DeckDep, key: ScheduleKey, body: ScheduleChange) -> dict[str, Any]:
    schedules = deck.schedules
    row = await (schedules.enable(key) if body.enabled else schedules.disable(key))
    return schedule_json(row)


@router.delete("/api/schedules/{key}", status_code=204, responses=responses(401, 404, 422))
async def remove_schedule(deck: DeckDep, key: ScheduleKey) -> Response:
    await deck.schedules.remove(key)
    return Response(status_code=204)
