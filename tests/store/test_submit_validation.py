"""Submit validates before it writes: a rejected submit names the field and writes nothing."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, Field

from agentdeck.deck import Deck, Submission
from agentdeck.domain.errors import InvalidInput
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.store.rows import row_counts


class Essay(BaseModel):
    topic: str
    rounds: int = Field(3, ge=1, le=10)


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("noop")
    async def noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
        return None

    @registry.workflow("essay", inputs=Essay)
    async def essay(ctx: RunContext, inputs: dict[str, Any]) -> None:
        return None

    return registry


NAIVE = datetime(2026, 1, 1, 12, 0)

REJECTED: list[tuple[str, dict[str, Any], str]] = [
    ("unknown workflow", {"workflow": "no-such-workflow"}, "workflow"),
    ("empty workflow name", {"workflow": ""}, "workflow"),
    ("inputs a list", {"inputs": [1, 2]}, "inputs"),
    ("inputs a string", {"inputs": "topic=cats"}, "inputs"),
    ("inputs hold a set", {"inputs": {"tags": {"a", "b"}}}, "inputs"),
    ("inputs hold NaN", {"inputs": {"score": math.nan}}, "inputs.score"),
    ("inputs hold infinity", {"inputs": {"score": math.inf}}, "inputs.score"),
    ("inputs hold an object", {"inputs": {"when": datetime.now(UTC)}}, "inputs"),
    ("negative priority", {"priority": -1}, "priority"),
    ("priority above 1000", {"priority": 1001}, "priority"),
    ("bool priority", {"priority": True}, "priority"),
    ("float priority", {"priority": 1.5}, "priority"),
    ("string priority", {"priority": "5"}, "priority"),
    ("naive not_before", {"not_before": NAIVE}, "not_before"),
    ("too-long idempotency key", {"idempotency_key": "k" * 201}, "idempotency_key"),
    ("empty idempotency key", {"idempotency_key": ""}, "idempotency_key"),
    ("essay inputs miss a field", {"workflow": "essay", "inputs": {}}, "inputs.topic"),
    (
        "essay inputs out of range",
        {"workflow": "essay", "inputs": {"topic": "cats", "rounds": 0}},
        "inputs.rounds",
    ),
    (
        "essay inputs of the wrong type",
        {"workflow": "essay", "inputs": {"topic": "cats", "rounds": "many"}},
        "inputs.rounds",
    ),
]


async def test_submit_rejects_bad_input_naming_the_field_and_writes_nothing(deck: Deck) -> None:
    # One database for every case: a fresh one per case costs more than the cases.
    before = await row_counts(deck)
    for case, overrides, field in REJECTED:
        arguments: dict[str, Any] = {"workflow": "noop", "inputs": {}, **overrides}
        workflow, inputs = arguments.pop("workflow"), arguments.pop("inputs")
        with pytest.raises(InvalidInput) as raised:
            await deck.submit(workflow, inputs, **arguments)
        assert raised.value.field == field, case
        assert str(raised.value), case
        assert await row_counts(deck) == before, case


async def test_submit_many_writes_nothing_when_one_submission_is_bad(deck: Deck) -> None:
    before = await row_counts(deck)
    batch = [
        Submission("noop", {"n": 1}),
        Submission("noop", {"n": 2}, idempotency_key="fine"),
        Submission("noop", {"n": 3}, priority=5000),
        Submission("noop", {"n": 4}),
    ]
    with pytest.raises(InvalidInput) as raised:
        await deck.submit_many(batch)
    assert raised.value.field == "priority"
    assert await row_counts(deck) == before
    assert (await deck.list()).items == []


async def test_submit_accepts_the_limits_of_every_field_and_returns_the_stored_run(
    deck: Deck,
) -> None:
    tokyo = timezone(timedelta(hours=9))
    not_before = datetime.now(tokyo) + timedelta(hours=2)
    low = await deck.submit("noop", {}, priority=0)
    high = await deck.submit(
        "noop",
        {"nested": {"list": [1, 2.5, None, True, "x"]}},
        priority=1000,
        not_before=not_before,
        idempotency_key="k" * 200,
    )
    assert (low.priority, high.priority) == (0, 1000)
    assert high.due_at == not_before  # the same instant, stored in UTC
    assert high.due_at.utcoffset() == timedelta(0)
    assert high.idempotency_key == "k" * 200
    assert high.inputs == {"nested": {"list": [1, 2.5, None, True, "x"]}}
    assert (low.status, high.status) == ("queued", "queued")
    assert (low.lease_epoch, low.claimed_by, low.result, low.retry_of) == (0, None, None, None)
    # what submit returns is exactly what a later read finds
    assert [await deck.get(low.id), await deck.get(high.id)] == [low, high]


async def test_submit_with_an_inputs_model_stores_validated_inputs_with_defaults(
    deck: Deck,
) -> None:
    run = await deck.submit("essay", {"topic": "cats"})
    assert run.inputs == {"topic": "cats", "rounds": 3}
    assert (await deck.get(run.id)).inputs == {"topic": "cats", "rounds": 3}
    assert [e.kind for e in await deck.events(run.id)] == ["run.submitted"]
