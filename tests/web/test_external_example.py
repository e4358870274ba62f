"""examples/external_agent.py, run as its own process against a live server, does the work."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentdeck.deck import Deck
from agentdeck.web.app import create_app
from tests.web.live_server import serving
from tests.web.plan_fixtures import open_plan_deck, register

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "external_agent.py"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # one database is enough: the protocol tests run on both


@pytest.fixture
async def deck(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Deck]:
    deck = await open_plan_deck(database_url, monkeypatch, tmp_path)
    await deck.worker(4).start()
    try:
        yield deck
    finally:
        await deck.close()


async def test_the_example_agent_claims_and_completes_every_task(deck: Deck) -> None:
    async with serving(create_app(deck)) as url, httpx.AsyncClient(base_url=url) as http:
        agent = await register(http, "example", ["executor"])
        plan = [
            {"id": "T1", "title": "Collect"},
            {"id": "T2", "title": "Summarise", "prerequisites": ["T1"]},
        ]
        run = await deck.submit("plan", {"plan": plan, "dispatch": "external"})
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLE),
            "--url",
            url,
            "--agent",
            agent.id,
            "--token",
            agent.token,
            "--wait",
            "1",
            "--max-idle-polls",
            "2",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        assert out.decode().count("  completed") == 2
        done = await deck.wait(run.id, 10)
        assert done.status == "succeeded", done.error
        tasks = {t.key: t for t in await deck.tasks.tasks(run.id)}
        assert tasks["T2"].output["text"].startswith("# Summarise")
        assert "Built on: T1." in tasks["T2"].output["text"]
