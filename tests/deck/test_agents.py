"""AgentCatalog: file agents (read-only) and stored agents behind one schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentdeck.agents.loading import AgentConfigError
from agentdeck.domain.errors import Conflict, InvalidInput, NotFound
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.llm.decks import DeckMaker, drain

CRITIC = {
    "name": "critic",
    "role": "evaluator",
    "description": "Harsh but fair.",
    "models": ["simulator"],
    "instructions": "Score strictly.",
    "skills": ["security-review"],
    "budget_usd": "0.25",
}


async def test_the_catalog_lists_the_file_agents_as_read_only(make_deck: DeckMaker) -> None:
    deck = make_deck()
    agents = await deck.agents.list()
    assert [a.name for a in agents][:3] == ["backend", "builder", "coder"]
    assert all(a.read_only and a.source == "file" for a in agents)
    [evaluator] = await deck.agents.list(role="evaluator")
    assert evaluator.name == "evaluator"


async def test_stored_agents_are_created_read_changed_and_deleted(make_deck: DeckMaker) -> None:
    deck = make_deck()
    created = await deck.agents.create(CRITIC)
    assert (created.source, created.read_only) == ("database", False)
    assert "## Skill: Security review" in created.instructions

    found = await deck.agents.get("critic")
    assert found.spec == created.spec
    assert "critic" in [a.name for a in await deck.agents.list()]

    changed = await deck.agents.update("critic", {"temperature": 0.1, "models": ["openai:gpt-4o"]})
    assert changed.spec.temperature == 0.1
    assert changed.spec.models == ["openai:gpt-4o"]
    assert changed.spec.description == "Harsh but fair."
    assert (await deck.agents.get("critic")).spec.models == ["openai:gpt-4o"]

    await deck.agents.delete("critic")
    assert await deck.agents.find("critic") is None
    with pytest.raises(NotFound):
        await deck.agents.delete("critic")


async def test_agents_of_the_file_cannot_be_changed_through_the_catalog(
    make_deck: DeckMaker,
) -> None:
    deck = make_deck()
    with pytest.raises(Conflict, match="read-only"):
        await deck.agents.update("producer", {"temperature": 0})
    with pytest.raises(Conflict, match="read-only"):
        await deck.agents.delete("producer")
    with pytest.raises(Conflict, match="defined in"):
        await deck.agents.create({**CRITIC, "name": "producer"})


async def test_a_second_agent_of_the_same_name_is_a_conflict(make_deck: DeckMaker) -> None:
    deck = make_deck()
    await deck.agents.create(CRITIC)
    with pytest.raises(Conflict, match="exists"):
        await deck.agents.create(CRITIC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"models": ["simulator", "foo:bar"]}, "models[1]"),
        ({"skills": ["no-such-skill"]}, "skills[0]"),
        ({"colour": "red"}, "colour"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"name": "other"}, "name"),
    ],
)
async def test_invalid_changes_name_the_field(
    make_deck: DeckMaker, change: dict[str, Any], field: str
) -> None:
    deck = make_deck()
    await deck.agents.create(CRITIC)
    with pytest.raises(InvalidInput) as caught:
        await deck.agents.update("critic", change)
    assert caught.value.field == field
    if field != "name":
        with pytest.raises(InvalidInput):
            await deck.agents.create({**CRITIC, "name": "critic2", **change})


async def test_the_skills_library_is_listed_with_its_agents(make_deck: DeckMaker) -> None:
    deck = make_deck()
    await deck.agents.create(CRITIC)
    uses = {u.skill.name: u.agents for u in await deck.agents.skill_uses()}
    assert uses["security-review"] == ["backend", "coder", "devops", "reviewer", "critic"]
    assert uses["api-design"] == ["backend", "coder"]


async def test_a_stored_agent_answers_in_a_run(make_deck: DeckMaker, registry: Registry) -> None:
    deck = make_deck()
    await deck.agents.create(CRITIC)

    @registry.workflow("judge")
    async def judge(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        reply = await deck.llm.runner.run(ctx, "critic", "Draft: attempt 2 of the essay")
        return reply.json()

    run = await deck.submit("judge", {})
    await drain(deck)
    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    assert 0.8 < done.result["score"] < 0.9


def test_a_deck_with_a_broken_agents_file_does_not_open(database_url: str, tmp_path: Path) -> None:
    from agentdeck.deck import Deck

    path = tmp_path / "agents.yaml"
    path.write_text("agents:\n  - name: w\n    role: producer\n    skills: [missing]\n")
    with pytest.raises(AgentConfigError) as caught:
        Deck(fast_settings(database_url, agents_file=path), migrate=False)
    assert str(path) in str(caught.value)
    assert "agent 'w'" in str(caught.value)
    assert "field 'skills[0]'" in str(caught.value)
