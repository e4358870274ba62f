"""`agentdeck tokens ...`: scoped API tokens in the database (the admin's own commands).

agentdeck tokens create ci --scope start:loop      # prints the secret, once
agentdeck tokens list [--json]
agentdeck tokens revoke TOKEN_ID
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agentdeck.cli.runtime import with_deck
from agentdeck.deck import Deck
from agentdeck.deck.api_tokens import CreatedToken
from agentdeck.domain.api_tokens import ApiToken

tokens_app = typer.Typer(
    help="Scoped API tokens: read-only or start-only tokens beside AGENTDECK_TOKEN.",
    no_args_is_help=True,
)
console = Console()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.id,
        "name": token.name,
        "scopes": list(token.scopes),
        "created_at": _iso(token.created_at),
        "last_used_at": _iso(token.last_used_at),
        "revoked_at": _iso(token.revoked_at),
    }


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the token is for.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="`read` or `start:<workflow>`; repeatable.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a token and print its secret: it is stored hashed and never shown again."""

    async def write(deck: Deck) -> CreatedToken:
        return await deck.api_tokens.create(name, scope)

    created = with_deck(write, error_exit=2)
    if as_json:
        print(json.dumps({**_json(created.token), "secret": created.secret}))
        return
    print(created.secret)
    typer.echo(
        f"token {created.token.id} ({' '.join(created.token.scopes)}): copy the secret above "
        "now, it is not shown again",
        err=True,
    )


@tokens_app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every scoped token, revoked ones included, newest first; never a secret."""

    async def read(deck: Deck) -> list[ApiToken]:
        return await deck.api_tokens.list()

    found = with_deck(read)
    if as_json:
        print(json.dumps([_json(t) for t in found]))
        return
    table = Table("id", "name", "scopes", "created", "last used", "revoked")
    for t in found:
        table.add_row(
            t.id,
            t.name,
            " ".join(t.scopes),
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id (tokens list).")]) -> None:
    """Revoke a token: the API answers it 401 from now on."""

    async def write(deck: Deck) -> ApiToken:
        return await deck.api_tokens.revoke(token_id)

    token = with_deck(write, error_exit=2)
    print(f"{token.id} revoked")
