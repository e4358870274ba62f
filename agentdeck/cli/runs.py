"""`agentdeck runs ...`: list, show, cancel and retry runs, in the database or on a --server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from agentdeck.cli.remote import RemoteDeck
from agentdeck.cli.run import ServerOption, TokenOption
from agentdeck.cli.runtime import with_deck
from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.runs import RunFilter

runs_app = typer.Typer(help="List and steer runs.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _with_remote(server: str, token: str | None, fn: Callable[[RemoteDeck], Awaitable[T]]) -> T:
    async def main() -> T:
        async with RemoteDeck(server, token) as remote:
            return await fn(remote)

    try:
        return asyncio.run(main())
    except AgentdeckError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from None


@runs_app.command("list")
def list_runs(
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses.")] = None,
    workflow: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """The newest runs."""
    if server:
        items = _with_remote(
            server, token, lambda r: r.list_runs(tuple(status or ()), workflow, limit)
        )
    else:
        where = RunFilter(statuses=tuple(status or ()), workflow=workflow)
        page = with_deck(lambda deck: deck.list(where, limit=limit), error_exit=2)
        items = [dataclasses.asdict(r) for r in page.items]
    if as_json:
        print(json.dumps(items, default=str))
        return
    table = Table("id", "workflow", "status", "created", "error")
    for run in items:
        table.add_row(
            run["id"], run["workflow"], run["status"], _when(run["created_at"]), run["error"] or ""
        )
    console.print(table)


@runs_app.command("show")
def show(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """One run, as JSON."""
    if server:
        found = _with_remote(server, token, lambda r: r.get(run_id))
    else:
        found = dataclasses.asdict(with_deck(lambda deck: deck.get(run_id), error_exit=2))
    print(json.dumps(found, default=str, indent=2))


@runs_app.command("cancel")
def cancel(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """Cancel a run now."""
    if server:
        _print_status(_with_remote(server, token, lambda r: r.cancel(run_id)))
        return
    run = with_deck(lambda deck: deck.cancel(run_id), error_exit=2)
    _print_status(run)


@runs_app.command("retry")
def retry(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """Start a new run with the same inputs, linked to this one."""
    if server:
        _print_status(_with_remote(server, token, lambda r: r.retry(run_id)))
        return
    run = with_deck(lambda deck: deck.retry(run_id), error_exit=2)
    _print_status(run)


def _print_status(run: Any) -> None:
    if isinstance(run, dict):  # the API's JSON
        console.print(f"{run['id']} [bold]{run['status']}[/]")
        return
    console.print(f"{run.id} [bold]{run.status}[/]")


def _when(value: datetime | str) -> str:
    if isinstance(value, str):  # the API's ISO 8601
        value = datetime.fromisoformat(value)
    return f"{value:%Y-%m-%d %H:%M:%S}"
