"""Declared workflow inputs on the dashboard and the API, starting with the README's own
custom workflow, run as written: the form asks for `topic`, a run without it is refused
(it used to start and fail with KeyError 'topic'), and one with it runs to its gate."""

from __future__ import annotations

import re
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_workflow_module() -> types.ModuleType:
    """The README's custom workflow example, executed as the module a user would write."""
    text = README.read_text()
    found = re.search(r"```python\n(.*?def register\(target: Registry\).*?)```", text, re.S)
    assert found, "the README has no custom workflow example"
    module = types.ModuleType("readme_review")
    exec(compile(found.group(1), str(README), "exec"), module.__dict__)
    return module


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    readme_workflow_module().register(registry)

    @registry.workflow(
        "sized",
        inputs={
            "type": "object",
            "properties": {
                "topic": {"type": "string", "title": "Topic"},
                "words": {"type": "integer", "default": 300, "minimum": 50, "title": "Words"},
            },
            "required": ["topic"],
        },
    )
    async def sized(ctx: Any, inputs: dict[str, Any]) -> Any:
        return inputs

    @registry.workflow("loose")
    async def loose(ctx: Any, inputs: dict[str, Any]) -> Any:
        return {"topic": inputs["topic"]}

    return registry


@pytest.fixture
async def http(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    await deck.worker(concurrency=2).start()
    transport = httpx.ASGITransport(app=create_app(deck))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_the_readme_workflow_asks_for_its_topic_and_refuses_a_run_without_it(
    http: httpx.AsyncClient, deck: Deck
) -> None:
    form = (await http.get("/runs/new?workflow=review")).text
    assert 'id="f-topic"' in form
    assert "What the draft is about." in form
    assert "takes no inputs" not in form

    refused = await http.post("/api/runs", json={"workflow": "review", "inputs": {}})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "inputs.topic"
    assert (await deck.list()).items == []  # nothing was created

    page = await http.post(
        "/runs/new",
        data={"csrf_token": csrf_of(form), "workflow": "review", "inputs.topic": ""},
    )
    assert page.status_code == 422
    assert "inputs.topic is required" in page.text

    started = await http.post(
        "/api/runs", json={"workflow": "review", "inputs": {"topic": "durable queues"}}
    )
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    waiting = await deck.wait(run_id, timeout=10)
    assert (waiting.status, waiting.waiting_on) == ("waiting", "approve-draft")
    await deck.decide(run_id, "approve-draft", "approve")
    done = await deck.wait(run_id, timeout=10)
    assert done.status == "succeeded", done.error
    [draft] = await deck.artifacts(run_id)
    assert draft.content.startswith("# durable queues")


async def test_a_json_schema_workflow_gets_a_form_and_api_validation(
    http: httpx.AsyncClient, deck: Deck
) -> None:
    form = (await http.get("/runs/new?workflow=sized")).text
    assert 'id="f-topic"' in form
    assert 'id="f-words"' in form
    assert 'min="50"' in form
    small = await http.post(
        "/api/runs", json={"workflow": "sized", "inputs": {"topic": "x", "words": 5}}
    )
    assert small.status_code == 422
    assert small.json()["error"]["field"] == "inputs.words"
    listed = (await http.get("/api/workflows")).json()
    sized = next(w for w in listed if w["name"] == "sized")
    assert sized["input_schema"]["required"] == ["topic"]

    started = await http.post(
        "/runs/new",
        data={"csrf_token": csrf_of(form), "workflow": "sized", "inputs.topic": "queues"},
    )
    assert started.status_code == 303
    run_id = started.headers["location"].rsplit("/", 1)[-1]
    done = await deck.wait(run_id, timeout=10)
    assert done.result == {"topic": "queues", "words": 300}


async def test_an_undeclared_workflow_gets_one_json_field_for_its_inputs(
    http: httpx.AsyncClient, deck: Deck
) -> None:
    form = (await http.get("/runs/new?workflow=loose")).text
    assert "takes no inputs" not in form
    assert "does not declare its inputs" in form
    bad = await http.post(
        "/runs/new", data={"csrf_token": csrf_of(form), "workflow": "loose", "inputs": "[1]"}
    )
    assert bad.status_code == 422
    assert "inputs: must be a JSON object" in bad.text
    started = await http.post(
        "/runs/new",
        data={"csrf_token": csrf_of(form), "workflow": "loose", "inputs": '{"topic": "q"}'},
    )
    assert started.status_code == 303
    run_id = started.headers["location"].rsplit("/", 1)[-1]
    assert (await deck.wait(run_id, timeout=10)).result == {"topic": "q"}
