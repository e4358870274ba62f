"""Priority means one thing everywhere: the engine runs a higher priority first, and the
start form, the API schema and the CLI say so in the same words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from typer.testing import CliRunner

from agentdeck.cli.main import app
from agentdeck.deck import PRIORITY_HELP, Deck
from agentdeck.store import runs as run_queries

TEMPLATES = Path(__file__).resolve().parents[2] / "agentdeck" / "web" / "templates"


async def test_the_engine_claims_the_higher_priority_first(deck: Deck) -> None:
    low = await deck.submit("echo", {"topic": "low"}, priority=1)
    high = await deck.submit("echo", {"topic": "high"}, priority=7)
    now = deck.clock.now()

    claimed = await deck.db.write(
        lambda conn: run_queries.claim(
            conn,
            worker_id="w-priority",
            limit=1,
            now=now,
            lease_expires_at=now + timedelta(seconds=30),
        )
    )

    assert [c.id for c in claimed] == [high.id]
    assert low.id != high.id
    assert "higher priority runs first" in PRIORITY_HELP


async def test_the_form_the_api_schema_and_the_cli_use_the_same_words(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/runs/new?workflow=echo")
    assert PRIORITY_HELP in form.text

    schema = (await client.get("/api/openapi.json")).json()
    priority = schema["components"]["schemas"]["RunIn"]["properties"]["priority"]
    assert priority["description"] == PRIORITY_HELP

    help_text = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "400"}).output
    assert " ".join(PRIORITY_HELP.split()) in " ".join(help_text.split())

    for template in TEMPLATES.glob("*.html"):
        assert "lower runs first" not in template.read_text(), template.name
