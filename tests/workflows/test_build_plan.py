"""Build plans: validation errors name the field; estimates come from the mode's model prices."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentdeck.agents.loading import AgentConfigError, parse_agents
from agentdeck.agents.modes import ModeTable
from agentdeck.agents.skills import SkillLibrary
from agentdeck.domain.errors import InvalidInput
from agentdeck.workflows.build.plan import InvalidPlan, estimate, parse_plan

ROLES = ["backend", "frontend", "tester", "devops"]


def plan(**task: Any) -> dict[str, Any]:
    one = {"id": "1.1", "title": "Create it", "role": "backend", **task}
    return {"title": "t", "phases": [{"id": "P1", "title": "One", "tasks": [one]}]}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("not json", "plan: not JSON"),
        ("[1, 2]", "plan: must be a JSON object"),
        ({"phases": []}, "plan.phases: List should have at least 1 item"),
        (plan(role="poet"), "plan.phases[0].tasks[0].role: no agent for role 'poet'"),
        (plan(kind="easy"), "plan.phases[0].tasks[0].kind: Input should be"),
        (plan(estimate_hours=-1), "plan.phases[0].tasks[0].estimate_hours"),
        (
            {"phases": [plan()["phases"][0], plan()["phases"][0]]},
            "plan: Value error, phase id 'P1' is used more than once",
        ),
    ],
)
def test_parse_plan_names_the_bad_field(answer: Any, message: str) -> None:
    with pytest.raises(InvalidPlan) as caught:
        parse_plan(answer, ROLES)
    assert str(caught.value).startswith(message.replace("Value error, ", "")), str(caught.value)


def test_estimate_prices_each_task_by_mode_and_kind() -> None:
    modes = ModeTable()
    valid = parse_plan(plan(kind="auth-security", estimate_tokens=10_000), ROLES)
    frugal = estimate(valid, modes, "frugal")
    balanced = estimate(valid, modes, "balanced")
    task = balanced["phases"][0]["tasks"][0]
    assert task["model"] == "anthropic:claude-sonnet-4-5"  # security work: a stronger model
    assert Decimal(balanced["totals"]["cost_usd"]) > Decimal(frugal["totals"]["cost_usd"]) > 0
    assert balanced["totals"] == {
        "phases": 1,
        "tasks": 1,
        "estimate_hours": 1.0,
        "estimate_tokens": 10_000,
        "cost_usd": balanced["phases"][0]["cost_usd"],
        "unpriced_tasks": 0,
    }
    crud = estimate(parse_plan(plan(kind="simple-crud"), ROLES), modes, "balanced")
    assert crud["phases"][0]["tasks"][0]["model"] == "openai:gpt-4.1-mini"


def test_modes_from_agents_yaml_override_the_shipped_table(tmp_path: Path) -> None:
    text = (
        "agents: []\n"
        "modes:\n"
        "  frugal:\n"
        "    backend:\n"
        "      default: [groq:llama-3.1-8b-instant]\n"
        "      kinds: {complex-logic: [openai:gpt-4.1]}\n"
    )
    file = tmp_path / "agents.yaml"
    file.write_text(text)
    parse_agents(text, str(file), skills=SkillLibrary())
    modes = ModeTable.from_agents_file(file)
    assert modes.chain("frugal", "backend") == ["groq:llama-3.1-8b-instant"]
    assert modes.chain("frugal", "backend", "complex-logic") == ["openai:gpt-4.1"]
    assert modes.chain("max", "backend")[0] == "anthropic:claude-opus-4-1"
    with pytest.raises(InvalidInput, match="unknown mode 'cheap'"):
        modes.chain("cheap", "backend")
    bad = "agents: []\nmodes:\n  frugal:\n    backend: {default: [nowhere:x]}\n"
    with pytest.raises(AgentConfigError, match=r"modes\.frugal\.backend"):
        parse_agents(bad, "agents.yaml", skills=SkillLibrary())
