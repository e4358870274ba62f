"""/api/agents: the file's agents are read-only; the API's own can be created, changed, deleted."""

from __future__ import annotations

from typing import Any

import httpx

from agentdeck.agents.spec import AgentSpec
from agentdeck.web.schemas import AgentOut
from tests.web.test_api_runs import error_of

CRITIC = {
    "name": "critic",
    "role": "evaluator",
    "description": "Harsh but fair.",
    "models": ["simulator"],
    "instructions": "Score strictly.",
    "skills": ["security-review"],
    "budget_usd": "0.25",
}


async def test_list_agents_shows_the_file_agents_read_only_and_filters_by_role(
    client: httpx.AsyncClient,
) -> None:
    agents = (await client.get("/api/agents")).json()
    assert {"producer", "evaluator", "reviser"} <= {a["name"] for a in agents}
    assert all(a["read_only"] and a["source"] == "file" and a["path"] for a in agents)
    evaluators = (await client.get("/api/agents", params={"role": "evaluator"})).json()
    assert [a["name"] for a in evaluators] == ["evaluator"]
    one = (await client.get("/api/agents/producer")).json()
    assert one["role"] == "producer"
    assert one["budget_usd"] == "1.0"


async def test_agents_are_created_read_changed_and_deleted(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/agents", json=CRITIC)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["source"], body["read_only"], body["path"]) == ("database", False, None)
    assert (body["budget_usd"], body["skills"]) == ("0.25", ["security-review"])
    assert (await client.get("/api/agents/critic")).json() == body

    taken = error_of(await client.post("/api/agents", json=CRITIC), 409)
    assert "exists already" in taken["message"]

    changed = await client.patch("/api/agents/critic", json={"temperature": 0.1, "timeout_s": 20})
    assert changed.status_code == 200, changed.text
    assert changed.json()["temperature"] == 0.1
    assert changed.json()["timeout_s"] == 20
    too_short = error_of(await client.patch("/api/agents/critic", json={"timeout_s": 0}), 422)
    assert too_short["field"] == "timeout_s"
    assert changed.json()["description"] == "Harsh but fair."

    deleted = await client.delete("/api/agents/critic")
    assert deleted.status_code == 204
    assert deleted.content == b""
    error_of(await client.get("/api/agents/critic"), 404)
    error_of(await client.delete("/api/agents/critic"), 404)
    error_of(await client.patch("/api/agents/critic", json={"temperature": 0.2}), 404)


async def test_agents_of_the_file_cannot_be_changed_or_deleted_or_shadowed(
    client: httpx.AsyncClient,
) -> None:
    patch = error_of(await client.patch("/api/agents/producer", json={"temperature": 0}), 409)
    assert "read-only" in patch["message"]
    assert "agents.yaml" in patch["message"]
    delete = error_of(await client.delete("/api/agents/producer"), 409)
    assert "edit that file instead" in delete["message"]
    shadow = error_of(await client.post("/api/agents", json={**CRITIC, "name": "producer"}), 409)
    assert "pick another name" in shadow["message"]


async def test_bad_agent_specs_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    cases: list[tuple[Any, str | None, str]] = [
        ({**CRITIC, "models": ["nonsense"]}, "models[0]", "models[0]"),
        ({**CRITIC, "models": []}, "models", "at least 1"),
        ({**CRITIC, "skills": ["no-such-skill"]}, "skills[0]", "no skill 'no-such-skill'"),
        ({**CRITIC, "temperature": 5}, "temperature", "less than or equal to 2"),
        ({**CRITIC, "colour": "red"}, "colour", "unknown field"),
        ({**CRITIC, "name": "has space"}, "name", "name"),
        ({"name": "critic"}, "role", "role"),
        ({**CRITIC, "instructions": "nul \u0000 here"}, "instructions", "NUL"),
        ([CRITIC], "body", "body must be a JSON object"),
    ]
    for body, field, words in cases:
        error = error_of(await client.post("/api/agents", json=body), 422)
        assert error["field"] == field, (body, error)
        assert words in error["message"], (body, error)
    await client.post("/api/agents", json=CRITIC)
    rename = error_of(await client.patch("/api/agents/critic", json={"name": "other"}), 422)
    assert (rename["field"], rename["message"]) == (
        "name",
        "an agent cannot be renamed; create a new one",
    )
    bad_patch = error_of(
        await client.patch("/api/agents/critic", json={"max_output_tokens": 0}), 422
    )
    assert bad_patch["field"] == "max_output_tokens"


def test_agent_json_has_every_field_of_the_agent_spec() -> None:
    assert set(AgentSpec.model_fields) <= set(AgentOut.model_fields)
