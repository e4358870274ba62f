"""`agentdeck providers check` against a provider server on loopback (OpenAI and Anthropic wire
formats), and what `up` says answers the agents and why."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agentdeck.cli.main import app
from tests.llm.decks import CANARY, DeckMaker
from tests.llm.provider_server import ProviderServer, Slow, Status

AGENTS = """
agents:
  - name: writer
    role: producer
    models: [anthropic:claude-haiku-4-5, openai:gpt-4.1-mini]
  - name: local
    role: executor
    models: [ollama:llama3.2]
"""


@pytest.fixture
def cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, provider: ProviderServer
) -> ProviderServer:
    agents = tmp_path / "agents.yaml"
    agents.write_text(textwrap.dedent(AGENTS))
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", database_url)
    monkeypatch.setenv("AGENTDECK_AGENTS_FILE", str(agents))
    monkeypatch.setenv("COLUMNS", "250")
    urls = {"openai": f"{provider.url}/v1", "anthropic": provider.url}
    monkeypatch.setenv("AGENTDECK_PROVIDER_BASE_URLS", json.dumps(urls))
    ollama = {"ollama": {"base_url": f"{provider.url}/v1"}}
    monkeypatch.setenv("AGENTDECK_OPENAI_COMPATIBLE", json.dumps(ollama))
    return provider


def check(*args: str) -> Result:
    return CliRunner().invoke(app, ["providers", "check", *args])


def test_one_tiny_call_per_configured_provider_reports_what_works(
    cli: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    cli.script("claude-haiku-4-5", Status(401))

    result = check("--json")

    assert result.exit_code == 1, result.output  # one provider did not answer
    report = json.loads(result.stdout)
    by_provider = {c["provider"]: c for c in report["providers"]}
    assert set(by_provider) == {"openai", "anthropic", "ollama"}
    assert by_provider["openai"]["ok"] is True
    assert by_provider["openai"]["model"] == "gpt-4.1-mini"  # the model its agent names
    assert by_provider["openai"]["answer"] == "hello"
    assert by_provider["anthropic"]["ok"] is False
    assert "401" in by_provider["anthropic"]["error"]
    assert CANARY not in result.stdout  # the server echoes the key back: redacted
    assert by_provider["ollama"]["named_by"] == ["local"]
    assert "provider keys found for openai, anthropic" in report["llm"]
    # one request each, tiny and not retried
    assert sorted(h.model for h in cli.hits) == ["claude-haiku-4-5", "gpt-4.1-mini", "llama3.2"]
    assert all(h.body.get("max_tokens") == 5 or h.body.get("max_completion_tokens") == 5
               for h in cli.hits)  # fmt: skip

    table = check()
    assert "failed" in table.output
    assert "ok: 'hello'" in table.output


def test_a_hanging_provider_is_reported_after_the_timeout(
    cli: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    cli.script("gpt-4o", Slow(5.0))

    result = check("--model", "openai:gpt-4o", "--timeout", "0.3", "--json")

    assert result.exit_code == 1
    [only] = json.loads(result.stdout)["providers"]
    assert only["ok"] is False
    assert "TimeoutError" in only["error"]
    assert only["latency_ms"] < 3000


def test_a_closed_port_and_a_bad_model_name_say_so(
    cli: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    monkeypatch.setenv("AGENTDECK_OPENAI_COMPATIBLE", json.dumps({"ollama": {"base_url": closed}}))

    result = check("--json")
    [ollama] = json.loads(result.stdout)["providers"]
    assert result.exit_code == 1
    assert (ollama["provider"], ollama["ok"]) == ("ollama", False)
    assert "Connection" in ollama["error"]

    bad = check("--model", "nosuch:model")
    assert bad.exit_code == 2
    assert "unknown provider 'nosuch'" in bad.output


def test_with_ollama_alone_and_no_key_the_choice_of_the_simulator_is_said_with_its_reason(
    cli: ProviderServer,
) -> None:
    result = check()

    assert result.exit_code == 0, result.output  # ollama answered the check
    assert "ollama" in result.output
    text = " ".join(result.output.split())
    assert "the offline simulator answers every agent, because no provider key is set" in text
    assert "Agents name models of ollama, which need no key (ollama: local)" in text
    assert "AGENTDECK_SIMULATOR=never" in text


def test_without_any_provider_nothing_is_called(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", database_url)
    result = check()
    assert result.exit_code == 0
    assert "no provider is configured" in result.output
    assert "offline simulator answers every agent" in result.output


async def test_the_dashboard_banner_says_what_up_said(
    make_deck: DeckMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = make_deck(AGENTS)
    said_at_start = deck.llm.status(await deck.agents.list())  # what `up` prints

    assert "Agents name models of ollama" in said_at_start
    assert deck.llm.status() == said_at_start  # the banner's sentence, without the agents


async def test_the_banner_says_the_simulators_pace(make_deck: DeckMaker) -> None:
    paced = make_deck(AGENTS, simulator_latency=timedelta(seconds=1.5))
    assert "Each simulated call takes 1.5 s (AGENTDECK_SIMULATOR_LATENCY)" in paced.llm.status()
    assert "answer at once" in make_deck(AGENTS).llm.status()


def test_make_run_gives_the_simulator_a_pace_a_person_can_follow() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "AGENTDECK_SIMULATOR_LATENCY"}
    dry = subprocess.run(
        ["make", "-n", "-s", "run"], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    command = dry.stdout.replace("\\\n", " ")
    assert 'AGENTDECK_SIMULATOR_LATENCY="${AGENTDECK_SIMULATOR_LATENCY:-1.5}" ' in command
    assert ".venv/bin/agentdeck up" in command
