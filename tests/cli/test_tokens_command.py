"""`agentdeck tokens create|list|revoke` on the database: the secret printed once, then usable."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner, Result

from agentdeck.cli.main import app
from agentdeck.deck import Deck
from agentdeck.settings import Settings
from tests.cli.test_run_follow import cli_env  # noqa: F401  (fixture)


def agentdeck(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _check(database_url: str, secret: str) -> tuple[str, ...] | None:
    async def check() -> tuple[str, ...] | None:
        deck = Deck(Settings(database_url=database_url), migrate=False)
        try:
            token = await deck.api_tokens.check(secret)
        finally:
            await deck.close()
        return token.scopes if token is not None else None

    return asyncio.run(check())


def test_tokens_create_list_revoke(cli_env: dict[str, str]) -> None:  # noqa: F811
    created = agentdeck(
        "tokens", "create", "ci", "--scope", "start:echo", "--scope", "read", "--json"
    )
    assert created.exit_code == 0, created.output
    body = json.loads(created.output)
    assert body["scopes"] == ["start:echo", "read"]
    url = cli_env["AGENTDECK_DATABASE_URL"]
    assert _check(url, body["secret"]) == ("start:echo", "read")

    listed = agentdeck("tokens", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert row["id"] == body["id"]
    assert "secret" not in row
    assert body["secret"] not in agentdeck("tokens", "list").output

    bad = agentdeck("tokens", "create", "x", "--scope", "admin")
    assert bad.exit_code == 2
    assert "unknown scope 'admin'" in bad.output

    revoked = agentdeck("tokens", "revoke", body["id"])
    assert revoked.exit_code == 0, revoked.output
    assert _check(url, body["secret"]) is None
    missing = agentdeck("tokens", "revoke", "tok_nothing")
    assert missing.exit_code == 2
    assert "no API token" in missing.output
