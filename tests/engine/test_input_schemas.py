"""Workflow inputs declared as a JSON Schema: the model made of it checks what a run takes,
and a schema using what it cannot check is refused at registration."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.domain.errors import InvalidInput
from agentdeck.engine.registry import Registry

SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Review",
    "properties": {
        "topic": {"type": "string", "title": "Topic", "minLength": 2},
        "words": {"type": "integer", "default": 300, "minimum": 50, "maximum": 5000},
        "tone": {"enum": ["plain", "formal"], "default": "plain"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "ratio": {"type": ["number", "null"]},
    },
    "required": ["topic"],
}


async def nothing(ctx: Any, inputs: dict[str, Any]) -> None:
    return None


def registered(schema: dict[str, Any]) -> Registry:
    registry = Registry()
    registry.workflow("review", inputs=schema)(nothing)
    return registry


def test_a_json_schema_checks_inputs_and_fills_defaults() -> None:
    workflow = registered(SCHEMA).get("review")
    assert workflow.validate_inputs({"topic": "queues"}) == {
        "topic": "queues",
        "words": 300,
        "tone": "plain",
        "tags": None,
        "ratio": None,
    }
    for bad, field in (
        ({}, "inputs.topic"),
        ({"topic": "q"}, "inputs.topic"),
        ({"topic": "queues", "words": 10}, "inputs.words"),
        ({"topic": "queues", "tone": "loud"}, "inputs.tone"),
        ({"topic": "queues", "tags": [1]}, "inputs.tags.0"),
        ({"topic": "queues", "surprise": 1}, "inputs.surprise"),
    ):
        with pytest.raises(InvalidInput) as raised:
            workflow.validate_inputs(bad)
        assert raised.value.field == field, bad
    schema = workflow.input_schema()
    assert schema["required"] == ["topic"]
    assert schema["properties"]["words"]["maximum"] == 5000
    assert schema["title"] == "Review"


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ({"type": "object", "oneOf": []}, "not supported here: oneOf"),
        ({"properties": {"a": {"$ref": "#/x"}}}, "not supported here: $ref"),
        ({"properties": {"a": {"type": "date"}}}, "unknown type 'date'"),
        ({"type": "array"}, "type must be object"),
        ({"properties": {}, "required": ["a"]}, "required names no property: a"),
    ],
)
def test_a_schema_that_cannot_be_checked_is_refused_at_registration(
    schema: dict[str, Any], said: str
) -> None:
    with pytest.raises(InvalidInput, match=said.replace("$", r"\$")):
        registered(schema)
