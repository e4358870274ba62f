"""Input PostgreSQL cannot store or compare is refused as bad input on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.domain.runs import RunFilter
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry


@pytest.fixture
def noop(registry: Registry) -> Registry:
    @registry.workflow("noop")
    async def noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
        return None

    return registry


async def test_nul_in_inputs_is_invalid_input_and_writes_nothing(
    deck: Deck, noop: Registry
) -> None:
    with pytest.raises(InvalidInput, match="NUL") as caught:
        await deck.submit("noop", {"text": "a\x00b"})
    assert caught.value.field == "inputs.text"  # the field itself is named
    assert (await deck.list()).items == []


async def test_nul_in_a_run_id_is_not_found(deck: Deck) -> None:
    with pytest.raises(NotFound):
        await deck.get("run_\x00")
    with pytest.raises(NotFound):
        await deck.cancel("run_\x00")


@pytest.mark.parametrize("field", ["text", "workflow", "agent"])
async def test_nul_in_a_list_filter_names_the_filter(deck: Deck, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await deck.list(RunFilter(**{field: "x\x00"}))
    assert caught.value.field == field


async def test_event_cursor_beyond_bigint_is_invalid_input(deck: Deck) -> None:
    with pytest.raises(InvalidInput) as caught:
        await deck.events(None, after=2**63)
    assert caught.value.field == "after"
    assert await deck.events(None, after=2**63 - 1) == []
