"""/api/agents: list, read, create, change and delete agents.

Agents of agents.yaml are read-only here (409 says which file to edit); agents created
through the API live in the database. The catalog validates every spec and names the
bad field; the request schemas below are derived from the same AgentSpec.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from agentdeck.deck.agents import AgentSpec
from agentdeck.domain.errors import InvalidInput
from agentdeck.web.dependencies import DeckDep
from agentdeck.web.errors import responses
from agentdeck.web.schemas import AgentOut, reject_nul

router = APIRouter(tags=["agents"])


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The spec's JSON Schema with its `$defs` (e.g. MCP servers) written in place: a
    `#/$defs/...` reference would resolve against the OpenAPI document's root, where
    generated clients and fuzzers find nothing."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


_SPEC_SCHEMA = _inlined(AgentSpec.model_json_schema())
_NEW_AGENT_SCHEMA = {**_SPEC_SCHEMA, "title": "AgentIn"}
_PATCH_SCHEMA = {
    **{k: v for k, v in _SPEC_SCHEMA.items() if k != "required"},
    "title": "AgentPatch",
    "description": "The fields to change; the others keep their values. The name stays.",
}
AgentName = Annotated[str, Path(max_length=100, description="The agent's name.")]


def _body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    for key, value in body.items():
        try:
            reject_nul(value, key)
        except ValueError as error:
            raise InvalidInput(str(error), field=key) from None
    return body


@router.get("/api/agents", responses=responses(401, 422))
async def list_agents(
    deck: DeckDep, role: Annotated[str | None, Query(max_length=60)] = None
) -> list[AgentOut]:
    """Every agent: those of agents.yaml first, then those created through the API."""
    return [AgentOut.of(a) for a in await deck.agents.list(role or None)]


@router.post(
    "/api/agents",
    status_code=201,
    responses=responses(400, 401, 409, 422),
    openapi_extra=_body_schema(_NEW_AGENT_SCHEMA),
)
async def create_agent(deck: DeckDep, body: Annotated[dict[str, Any], Body()]) -> AgentOut:
    """Create an agent (stored in the database); 409 if the name is taken."""
    return AgentOut.of(await deck.agents.create(_clean(body)))


@router.get("/api/agents/{name}", responses=responses(401, 404, 422))
async def get_agent(deck: DeckDep, name: AgentName) -> AgentOut:
    """One agent."""
    return AgentOut.of(await deck.agents.get(name))


@router.patch(
    "/api/agents/{name}",
    responses=responses(400, 401, 404, 409, 422),
    openapi_extra=_body_schema(_PATCH_SCHEMA),
)
async def update_agent(
    deck: DeckDep, name: AgentName, body: Annotated[dict[str, Any], Body()]
) -> AgentOut:
    """Change some fields of an agent created through the API."""
    return AgentOut.of(await deck.agents.update(name, _clean(body)))


@router.delete(
    "/api/agents/{name}",
    status_code=204,
    response_class=Response,
    responses=responses(401, 404, 409, 422),
)
async def delete_agent(deck: DeckDep, name: AgentName) -> Response:
    """Delete an agent created through the API."""
    await deck.agents.delete(name)
    return Response(status_code=204)
