"""`agentdeck runs ...`: list, show, cancel and retry runs straight from the database."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from agentdeck.cli.runtime import open_deck
from agentdeck.deck import Deck
from agentdeck.domain.errors import AgentdeckError
from agentdeck.store.runs import RunFilter

runs_app = typer.Typer(help="List and steer runs.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _with_deck(fn: Callable[[Deck], Awaitable[T]]) -> T:
    async def main() -> T:
        deck = open_deck()
        try:
            return await fn(deck)
        finally:
            await deck.close()

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
) -> None:
    """The newest runs."""
    where = RunFilter(statuses=tuple(status or ()), workflow=workflow)
    page = _with_deck(lambda deck: deck.list(where, limit=limit))
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in page.items], default=str))
        return
    table = Table("id", "workflow", "status", "created", "error")
    for run in page.items:
        table.add_row(
            run.id, run.workflow, run.status, f"{run.created_at:%Y-%m-%d %H:%M:%S}", run.error or ""
        )
    console.print(table)


@runs_app.command("show")
def show(run_id: str) -> None:
    """One run, as JSON."""
    run = _with_deck(lambda deck: deck.get(run_id))
    print(json.dumps(dataclasses.asdict(run), default=str, indent=2))


@runs_app.command("cancel")
def cancel(run_id: str) -> None:
    """Cancel a run now."""
    run = _with_deck(lambda deck: deck.cancel(run_id))
    _print_status(run)


@runs_app.command("retry")
def retry(run_id: str) -> None:
    """Start a new run with the same inputs, linked to this one."""
    run = _with_deck(lambda deck: deck.retry(run_id))
    _print_status(run)


def _print_status(run: Any) -> None:
    console.print(f"{run.id} [bold]{run.status}[/]")
