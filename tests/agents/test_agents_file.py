"""agents.yaml: the shipped demo agents, and errors that name the file, the agent and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agentdeck.agents.loading import SHIPPED_AGENTS, AgentConfigError, load_agents_file
from agentdeck.agents.skills import SkillLibrary
from agentdeck.agents.spec import ROLES, configure
from agentdeck.agents.tools import default_tools

SKILLS = SkillLibrary()


def load(tmp_path: Path, text: str) -> list[object]:
    path = tmp_path / "agents.yaml"
    path.write_text(textwrap.dedent(text))
    return list(load_agents_file(path, skills=SKILLS, tools=default_tools))


def error_of(tmp_path: Path, text: str) -> AgentConfigError:
    with pytest.raises(AgentConfigError) as caught:
        load(tmp_path, text)
    return caught.value


def test_the_shipped_agents_cover_every_role_the_workflows_use() -> None:
    specs = load_agents_file(SHIPPED_AGENTS, skills=SKILLS, tools=default_tools)
    assert {s.role for s in specs} == set(ROLES)
    for spec in specs:
        agent = configure(spec, SKILLS, source="file")
        assert f"role: {spec.role}" in agent.instructions
        assert agent.chain
        assert agent.read_only


def test_the_shipped_skills_exist_and_are_appended_to_instructions() -> None:
    assert {"test-driven-development", "api-design", "security-review"} <= set(SKILLS.names())
    [coder] = [s for s in load_agents_file(SHIPPED_AGENTS, skills=SKILLS) if s.name == "coder"]
    instructions = configure(coder, SKILLS, source="file").instructions
    assert "## Skill: Test-driven development" in instructions
    assert "## Skill: Security review" in instructions


def test_a_minimal_agent_gets_the_defaults(tmp_path: Path) -> None:
    [spec] = load(tmp_path, "agents:\n  - {name: helper, role: executor}\n")
    assert spec.models == ["simulator"]  # type: ignore[attr-defined]
    assert spec.max_output_tokens == 2048  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "agent", "field", "problem"),
    [
        (
            "agents:\n  - {name: w, role: producer, models: [openai:gpt-4o, foo:bar]}\n",
            "'w'",
            "models[1]",
            "unknown provider 'foo'",
        ),
        ("agents:\n  - {name: w, role: producer, modles: [x]}\n", "'w'", "modles", "unknown field"),
        ("agents:\n  - {name: w}\n", "'w'", "role", "Field required"),
        ("agents:\n  - {role: producer}\n", "#1 (no name)", "name", "Field required"),
        (
            "agents:\n  - {name: w, role: producer, temperature: 5}\n",
            "'w'",
            "temperature",
            "less than or equal to 2",
        ),
        (
            "agents:\n  - {name: w, role: producer, skills: [tdd]}\n",
            "'w'",
            "skills[0]",
            "no skill 'tdd'",
        ),
        (
            "agents:\n  - {name: w, role: producer, tools: [rm_rf]}\n",
            "'w'",
            "tools[0]",
            "no tool 'rm_rf'",
        ),
        (
            "agents:\n  - {name: w, role: producer, budget_usd: -1}\n",
            "'w'",
            "budget_usd",
            "greater than or equal to 0",
        ),
        (
            "agents:\n  - {name: a, role: producer}\n  - {name: a, role: evaluator}\n",
            "'a'",
            "name",
            "duplicate name (also agent #1)",
        ),
        ("agents:\n  - {name: w, role: Producer}\n", "'w'", "role", "should match pattern"),
    ],
)
def test_a_broken_agent_is_named_with_its_file_and_field(
    tmp_path: Path, text: str, agent: str, field: str, problem: str
) -> None:
    error = error_of(tmp_path, text)
    message = str(error)
    assert message.startswith(str(tmp_path / "agents.yaml"))
    assert f"agent {agent}" in message
    assert f"field {field!r}" in message
    assert problem in message
    assert error.field == field


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("agents: [\n  {name: x\n", "not valid YAML: line"),
        ("- name: x\n", "top-level `agents:` list"),
        ("agents: {name: x}\n", "must be a list"),
        ("agents: []\nextra: 1\n", "unknown top-level key"),
        ("agents:\n  - just a string\n", "must be a mapping"),
    ],
)
def test_a_broken_file_is_named_with_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    message = str(error_of(tmp_path, text))
    assert message.startswith(str(tmp_path / "agents.yaml"))
    assert problem in message


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AgentConfigError, match=r"nope\.yaml: cannot read"):
        load_agents_file(tmp_path / "nope.yaml", skills=SKILLS)


def test_a_custom_skills_folder_adds_and_overrides_skills(tmp_path: Path) -> None:
    (tmp_path / "style.md").write_text("# House style\n\nShort sentences.")
    (tmp_path / "api-design.md").write_text("# Our API rules\n\nAlways paginate.")
    library = SkillLibrary.with_custom(tmp_path)
    assert library.get("style").title == "House style"
    assert library.get("api-design").title == "Our API rules"
    assert library.get("security-review").title == "Security review"
