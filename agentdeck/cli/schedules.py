"""`agentdeck schedules ...`: workflows submitted on a cron-like spec (times UTC).

    agentdeck schedules add nightly echo "daily 03:00" --inputs '{"topic": "x"}'
    agentdeck schedules list [--json]
    agentdeck schedules disable nightly       # also enable, remove

The workers of `agentdeck up` submit each due run.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from agentdeck.cli.output import cells, console, print_json, print_table, table, when
from agentdeck.cli.runtime import with_deck
from agentdeck.deck.schedules import schedule_json
from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.schedules import SPEC_HELP

schedules_app = typer.Typer(
    help="Schedules: workflows submitted on a cron-like spec (UTC).", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NameArg = Annotated[str, typer.Argument(help="The schedule's name or id.")]


def _inputs(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"--inputs is not JSON: {error}", field="inputs") from None
    if not isinstance(value, dict):
        raise InvalidInput("--inputs must be a JSON object", field="inputs")
    return value


def _print(row: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        print_json(row)
    else:
        console.print(
            f"{verb} {escape(row['name'])} ({row['id']}): {escape(row['spec'])}, "
            f"next due {when(row['next_due_at'])} UTC" + ("" if row["enabled"] else " (disabled)")
        )


@schedules_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A unique name.")],
    workflow: Annotated[str, typer.Argument(help="The workflow to run.")],
    spec: Annotated[str, typer.Argument(help=SPEC_HELP)],
    inputs: Annotated[str, typer.Option(help="The run's inputs, a JSON object.")] = "{}",
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it disabled.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a schedule."""

    async def go(deck: Any) -> dict[str, Any]:
        row = await deck.schedules.add(name, workflow, spec, _inputs(inputs), enabled=not disabled)
        return schedule_json(row)

    _print(with_deck(go), as_json, "added")


@schedules_app.command("list")
def list_schedules(as_json: JsonOption = False) -> None:
    """Every schedule, with its next due time and last run."""
    rows = [schedule_json(r) for r in with_deck(lambda deck: deck.schedules.list())]
    if as_json:
        print_json(rows)
        return
    out = table([r["id"] for r in rows], "id", "name", "workflow", "spec", "next due", "last run")
    for r in rows:
        due = "disabled" if not r["enabled"] else when(r["next_due_at"])
        out.add_row(*cells([r["id"], r["name"], r["workflow"], r["spec"], due, r["last_run_id"]]))
    print_table(out)


@schedules_app.command("remove")
def remove(name: NameArg) -> None:
    """Remove a schedule (its runs stay)."""
    with_deck(lambda deck: deck.schedules.remove(name))
    console.print(f"removed {escape(name)}")


@schedules_app.command("enable")
def enable(name: NameArg, as_json: JsonOption = False) -> None:
    """Enable a schedule; it is next due at its next time from now."""
    _print(schedule_json(with_deck(lambda deck: deck.schedules.enable(name))), as_json, "enabled")


@schedules_app.command("disable")
def disable(name: NameArg, as_json: JsonOption = False) -> None:
    """Disable a schedule: it does not fire until enabled again."""
    row = with_deck(lambda deck: deck.schedules.disable(name))
    _print(schedule_json(row), as_json, "disabled")
