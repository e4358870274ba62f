"""MCP tools: an agent of agents.yaml calls a tool of a stdio MCP server (mcp_server.py) that
a model on OpenAI's wire format (a local HTTP server) asked for; the call is a journaled
step, so a resumed run neither starts the server nor calls the tool again."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from agentdeck.agents import run_agent
from agentdeck.agents.loading import AgentConfigError, parse_agents
from agentdeck.agents.skills import SkillLibrary
from agentdeck.deck.build_views import build_view
from agentdeck.domain.errors import InvalidInput
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.llm.decks import CANARY, DeckMaker, drain
from tests.llm.provider_server import Called, Ok, ProviderServer

SERVER = Path(__file__).with_name("mcp_server.py")
MODEL = "gpt-4.1-mini"


def agents_yaml(log: Path, command: str = sys.executable, model: str = f"openai:{MODEL}") -> str:
    return f"""
agents:
  - name: noter
    role: executor
    models: [{model}]
    mcp_servers:
      - name: notes
        command: {json.dumps(command)}
        args: [{json.dumps(str(SERVER))}]
        env: {{MCP_LOG_FILE: {json.dumps(str(log))}}}
"""


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("notes")
    async def notes(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        reply = await run_agent(ctx, "noter", "How many words has 'one two three four'?")
        await ctx.wait_for_gate("go")  # the run resumes after it: a replay of the call
        return {"text": reply.text, "steps": reply.steps}

    return registry


def started_and_called(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


async def test_the_model_calls_an_mcp_tool_whose_result_goes_back_and_is_not_called_again(
    make_deck: DeckMaker,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    log = tmp_path / "mcp.log"
    deck = make_deck(agents_yaml(log), provider_base_urls={"openai": f"{provider.url}/v1"})
    arguments = json.dumps({"text": "one two three four"})
    provider.script(MODEL, Called("notes_count_words", arguments), Ok("It has 4 words."))

    run = await deck.submit("notes", {})
    await drain(deck)
    assert started_and_called(log) == ["started", "called one two three four"]
    first, second = [h.body for h in provider.hits]
    offered = [t["function"]["name"] for t in first["tools"]]
    assert offered == ["notes_count_words"]
    [returned] = [m for m in second["messages"] if m["role"] == "tool"]
    assert returned["content"] == "4"  # the MCP tool's result went back to the model

    await deck.decide(run.id, "go", "approve")
    await drain(deck)
    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    assert done.result["text"] == "It has 4 words."
    assert done.result["steps"] == ["llm:noter:0", "tool:noter:0:call_1", "llm:noter:0#1"]
    assert started_and_called(log) == ["started", "called one two three four"]  # not again
    assert provider.count(MODEL) == 2
    events = await deck.events(run.id)
    called = [e for e in events if e.kind == "tool.called"]
    assert [(e.data["tool"], e.data["mcp_server"], e.data["ok"]) for e in called] == [
        ("notes_count_words", "notes", True)
    ]
    [row] = build_view(done, [], events, [], None).monitor  # the build monitor's row
    assert (row.agent, row.tools) == ("noter", {"notes_count_words": 1})


async def test_offline_the_simulator_calls_the_mcp_tool_too(
    make_deck: DeckMaker, tmp_path: Path
) -> None:
    log = tmp_path / "mcp.log"
    deck = make_deck(agents_yaml(log, model="simulator"))
    run = await deck.submit("notes", {})
    await drain(deck)
    await deck.decide(run.id, "go", "approve")
    await drain(deck)
    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    [started, called] = started_and_called(log)
    assert (started, called.split()[0]) == ("started", "called")
    assert "tool notes_count_words: " in done.result["text"]


async def test_a_server_that_does_not_start_fails_the_run_naming_it(
    make_deck: DeckMaker,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    missing = str(tmp_path / "no-such-mcp-server")
    deck = make_deck(
        agents_yaml(tmp_path / "mcp.log", missing),
        provider_base_urls={"openai": f"{provider.url}/v1"},
    )
    run = await deck.submit("notes", {})
    await drain(deck)
    failed = await deck.get(run.id)
    assert failed.status == "failed"
    assert f"MCP server 'notes' (`{missing} " in (failed.error or "")
    assert "did not start" in (failed.error or "")
    assert provider.count(MODEL) == 0  # nothing paid for an agent that cannot work


@pytest.mark.parametrize(
    ("servers", "field", "problem"),
    [
        ("[{name: notes}]", "mcp_servers[0].command", "Field required"),
        ("[{name: notes, command: ''}]", "mcp_servers[0].command", "at least 1 character"),
        ("[{name: 'no tes', command: x}]", "mcp_servers[0].name", "should match pattern"),
        ("[{name: a, command: x}, {name: a, command: y}]", "mcp_servers", "duplicate MCP"),
        ("[{name: a, command: x, url: y}]", "mcp_servers[0].url", "unknown field"),
    ],
)
def test_a_bad_mcp_server_is_named_with_its_field(servers: str, field: str, problem: str) -> None:
    text = f"agents:\n  - {{name: noter, role: executor, mcp_servers: {servers}}}\n"
    with pytest.raises(AgentConfigError) as caught:
        parse_agents(text, "agents.yaml", skills=SkillLibrary())
    assert caught.value.field == field
    assert problem in str(caught.value)
    assert "agents.yaml: agent 'noter'" in str(caught.value)


async def test_a_stored_agent_cannot_run_commands(make_deck: DeckMaker) -> None:
    deck = make_deck()
    spec = {"name": "n", "role": "executor", "mcp_servers": [{"name": "a", "command": "sh"}]}
    with pytest.raises(InvalidInput, match=r"configure them in agents\.yaml"):
        await deck.agents.create(spec)
