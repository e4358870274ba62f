"""`agentdeck providers check`: which configured model providers answer, and what answers
the agents (the simulator or the providers) and why. See docs/providers.md."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from agentdeck.cli.output import print_json, print_table, table
from agentdeck.cli.runtime import with_deck
from agentdeck.deck import Deck

providers_app = typer.Typer(
    help="Model providers: check the configured ones.", no_args_is_help=True
)
console = Console()


@providers_app.command("check")
def check(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="Call this `provider:model` instead (repeatable); by default, one call per "
            "configured provider, with a model its agents name.",
        ),
    ] = None,
    seconds: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each provider.", min=0.1)
    ] = 20.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Make one tiny call per configured provider and report what works.

    Exit code 0 when every provider checked answered, 1 when one did not.
    """

    async def run(deck: Deck) -> tuple[list[Any], str, list[str]]:
        agents = await deck.agents.list()
        checks = await deck.llm.check_providers(agents, seconds=seconds, models=model or ())
        return checks, deck.llm.status(agents), deck.llm.key_warnings(agents)

    checks, status, warnings = with_deck(run, error_exit=2)
    if as_json:
        print_json({"providers": [c.json() for c in checks], "llm": status})
    else:
        _print(checks, status, warnings)
    if any(not c.ok for c in checks):
        raise typer.Exit(1)


def _print(checks: list[Any], status: str, warnings: list[str]) -> None:
    if not checks:
        console.print("no provider is configured: nothing to call.", highlight=False)
    else:
        out = table([c.provider for c in checks], "provider", "model", "result", "ms", "used by")
        for c in checks:
            said = escape(repr(c.answer) if c.ok else str(c.error))
            result = f"[green]ok[/]: {said}" if c.ok else f"[red]failed[/]: {said}"
            where = f" at {c.base_url}" if c.base_url else ""
            out.add_row(
                c.provider,
                escape(c.model + where),
                result,
                f"{c.latency_ms:.0f}",
                ", ".join(c.named_by) or "-",
            )
        print_table(out)
    for line in warnings:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(status, markup=False, highlight=False, soft_wrap=True)


async def print_llm_choice(deck: Deck) -> None:
    """At start: what answers the agents and why, then the models left out for want of a key."""
    agents = await deck.agents.list()
    console.print(deck.llm.status(agents), markup=False, highlight=False, soft_wrap=True)
    for line in deck.llm.key_warnings(agents):
        console.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)
