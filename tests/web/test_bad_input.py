"""Bad input is a 4xx that says what is wrong and where, and nothing is written."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.engine.registry import Registry
from agentdeck.workflows.loop import workflow as loop
from tests.web import workflows


@pytest.fixture
def registry(held: workflows.Held) -> Registry:
    registry = Registry()
    workflows.register(registry, held)
    loop.register(registry)
    return registry


def refusal(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def post_raw(client: httpx.AsyncClient, path: str, text: str) -> httpx.Response:
    """`text` as the body, byte for byte (json= would refuse to write NaN or surrogates)."""
    return await client.post(
        path, content=text.encode("utf-8"), headers={"content-type": "application/json"}
    )


async def nothing_stored(client: httpx.AsyncClient) -> None:
    runs = await client.get("/api/runs")
    assert runs.status_code == 200, runs.text
    assert runs.json()["items"] == []


async def test_a_lone_surrogate_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    # the JSON escape of a lone surrogate, as a client would send it
    body = '{"workflow": "echo", "inputs": {"topic": "a\\ud800b"}}'
    error = refusal(await post_raw(client, "/api/runs", body))
    assert error["field"] == "inputs.topic"
    assert "lone surrogate (\\ud800)" in error["message"]
    await nothing_stored(client)
    # a key too, and an agent's fields
    body = '{"workflow": "echo", "inputs": {"\\udfff": 1}}'
    assert "lone surrogate" in refusal(await post_raw(client, "/api/runs", body))["message"]
    body = '{"name": "x", "role": "evaluator", "instructions": "\\ud83d"}'
    assert refusal(await post_raw(client, "/api/agents", body))["field"] == "instructions"
    # a surrogate pair is a character, not an error
    body = '{"workflow": "echo", "inputs": {"topic": "\\ud83d\\ude00"}}'
    created = await post_raw(client, "/api/runs", body)
    assert created.status_code == 201, created.text
    assert created.json()["inputs"]["topic"] == "\U0001f600"


async def test_deck_submit_refuses_a_lone_surrogate_and_writes_nothing(deck: Deck) -> None:
    with pytest.raises(InvalidInput, match="lone surrogate") as caught:
        await deck.submit("echo", {"topic": "\ud800"})
    assert caught.value.field == "inputs.topic"
    with pytest.raises(InvalidInput, match="finite number"):
        await deck.submit("echo", {"pass_threshold": math.nan})
    assert (await deck.list()).items == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"workflow": "echo", "inputs": {"pass_threshold": NaN}}', "NaN is not JSON"),
        ('{"workflow": "echo", "inputs": {"pass_threshold": -Infinity}}', "-Infinity is not"),
        ('{"workflow": "echo", "inputs": {"pass_threshold": 1e999}}', "too large for a double"),
        ("[" * 5000 + "]" * 5000, "nests 5000 levels"),
        ('{"workflow": "echo", "inputs": {"topic": "x"', "not valid JSON"),
    ],
)
async def test_json_that_cannot_be_stored_is_refused_saying_why(
    client: httpx.AsyncClient, text: str, words: str
) -> None:
    error = refusal(await post_raw(client, "/api/runs", text))
    assert words in error["message"]
    assert "send UTF-8" not in error["message"]
    await nothing_stored(client)


async def test_nesting_deeper_than_64_is_refused_with_its_place(
    client: httpx.AsyncClient,
) -> None:
    deep: Any = "leaf"
    for _ in range(70):
        deep = [deep]
    body = json.dumps({"workflow": "echo", "inputs": {"topic": "t", "extra": deep}})
    error = refusal(await post_raw(client, "/api/runs", body))
    assert "deeper than 64 levels" in error["message"]
    assert error["field"].startswith("inputs.extra[0][0]")
    await nothing_stored(client)


async def test_true_is_not_a_number(client: httpx.AsyncClient) -> None:
    for field, value in (("max_attempts", True), ("pass_threshold", False)):
        response = await client.post(
            "/api/runs", json={"workflow": "echo", "inputs": {field: value}}
        )
        error = refusal(response)
        assert error["field"] == f"inputs.{field}"
        assert "must be a number, not" in error["message"]
    agent = {"name": "critic2", "role": "evaluator", "temperature": True}
    error = refusal(await client.post("/api/agents", json=agent))
    assert error["field"] == "temperature"
    await nothing_stored(client)
    assert (await client.get("/api/agents/critic2")).status_code == 404


async def test_an_unknown_agent_is_refused_at_submit(client: httpx.AsyncClient) -> None:
    inputs = {"task": {"topic": "t"}, "evaluator": "nobody"}
    error = refusal(await client.post("/api/runs", json={"workflow": "loop", "inputs": inputs}))
    assert error["field"] == "inputs.evaluator"
    assert "no agent named 'nobody'" in error["message"]
    await nothing_stored(client)
    created = await client.post(
        "/api/runs", json={"workflow": "loop", "inputs": {"task": {"topic": "t"}}}
    )
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("cursor", ["garbage", "run_x", "run_" + "Z" * 26, "' OR 1=1 --"])
async def test_a_cursor_this_server_did_not_give_is_422(
    client: httpx.AsyncClient, cursor: str
) -> None:
    error = refusal(await client.get("/api/runs", params={"cursor": cursor}))
    assert error["field"] == "cursor"
    assert "next_cursor" in error["message"]


async def test_a_real_cursor_pages_on(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await client.post("/api/runs", json={"workflow": "echo"})).status_code == 201
    first = (await client.get("/api/runs", params={"limit": 2})).json()
    second = await client.get("/api/runs", params={"limit": 2, "cursor": first["next_cursor"]})
    assert second.status_code == 200
    assert len(second.json()["items"]) == 1


@pytest.mark.parametrize("media_type", ["text/\x01plain", "text/plaïn", "markdown", "a/b\r\nX: y"])
async def test_an_external_agents_media_type_must_be_one(
    client: httpx.AsyncClient, media_type: str
) -> None:
    report = {"type": "artifact", "lease_id": "l", "name": "a.md", "content": "x"}
    response = await client.post(
        "/api/tasks/task_x/events",
        json={**report, "media_type": media_type},
        headers={"Authorization": "Bearer adx_unknown"},
    )
    error = refusal(response)
    assert error["field"] == "artifact.media_type"
    assert "is not a media type" in error["message"]


async def test_the_openapi_document_states_the_rules(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    description = spec["info"]["description"]
    for words in ("1,000,000 bytes", "lone surrogates", "NaN", "nested at most 64", "421", "429"):
        assert words in description
    schemas = spec["components"]["schemas"]
    assert schemas["RunIn"]["properties"]["workflow"]["pattern"] == "^[^\\u0000]*$"
    assert schemas["RunIn"]["properties"]["priority"]["maximum"] == 1000
    agent_in = spec["paths"]["/api/agents"]["post"]["requestBody"]["content"]
    models = agent_in["application/json"]["schema"]["properties"]["models"]
    assert "pattern" in models["items"]
    media = schemas["ArtifactIn"]["properties"]["media_type"]
    assert media["pattern"].startswith("^[A-Za-z0-9")
