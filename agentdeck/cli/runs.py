"""`agentdeck runs ...`: list, show, steer runs and read their events and artifacts,
in the database or on a --server (the same output either way)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.cli.backends import JSON, Backend, using
from agentdeck.cli.output import cells, print_json, print_table, table, when
from agentdeck.cli.run import ServerOption, TokenOption
from agentdeck.domain.errors import NotFound

runs_app = typer.Typer(help="List and steer runs.", no_args_is_help=True)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@runs_app.command("list")
def list_runs(
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses.")] = None,
    workflow: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 20,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """The newest runs, with their whole ids."""
    items = using(server, token, lambda b: b.list_runs(tuple(status or ()), workflow, limit))
    if as_json:
        print_json(items)
        return
    out = table([r["id"] for r in items], "id", "workflow", "status", "created", "error")
    for run in items:
        out.add_row(
            *cells(
                [run["id"], run["workflow"], run["status"], when(run["created_at"]), run["error"]]
            )
        )
    print_table(out)


@runs_app.command("show")
def show(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """One run, as JSON."""
    print(json.dumps(using(server, token, lambda b: b.get(run_id)), indent=2))


def _steer(
    act: Callable[[Backend], Awaitable[JSON]], server: str | None, token: str | None
) -> None:
    run = using(server, token, act)
    console.print(f"{run['id']} [bold]{run['status']}[/]", highlight=False)


@runs_app.command("cancel")
def cancel(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """Cancel a run now."""
    _steer(lambda b: b.cancel(run_id), server, token)


@runs_app.command("pause")
def pause(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """Pause a run: at once if it is not executing, else after its current step."""
    _steer(lambda b: b.pause(run_id), server, token)


@runs_app.command("resume")
def resume(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """Queue a paused run again; the steps it finished are not done twice."""
    _steer(lambda b: b.resume(run_id), server, token)


@runs_app.command("retry")
def retry(run_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """Start a new run with the same inputs, linked to this one."""
    _steer(lambda b: b.retry(run_id), server, token)


@runs_app.command("rerun")
def rerun(
    run_id: str,
    from_step: Annotated[
        str,
        typer.Option(
            "--from", help="The step to run again from (a step key, e.g. llm:evaluate:2)."
        ),
    ],
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """A new run linked to this finished one: the steps before --from are copied from its
    journal, that step and the later ones run again."""
    _steer(lambda b: b.rerun(run_id, from_step), server, token)


@runs_app.command("events")
def events(
    run_id: str,
    after: Annotated[int, typer.Option(help="Only events with a larger id.")] = 0,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """The run's log, oldest first (`agentdeck run ... --follow` shows it live)."""
    items = using(server, token, lambda b: b.all_events(run_id, after))
    if as_json:
        print_json(items)
        return
    out = table([str(e["id"]) for e in items], "id", "time", "kind", "message")
    for event in items:
        out.add_row(
            *cells([event["id"], when(event["created_at"]), event["kind"], event["message"]])
        )
    print_table(out)


@runs_app.command("artifacts")
def artifacts(
    run_id: str,
    name: Annotated[
        str | None,
        typer.Option(help="Print the content of the artifact of this name (its latest)."),
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """What the run produced (drafts, evaluations, results); `--name` prints one."""

    async def read(backend: Backend) -> tuple[list[JSON], str | None]:
        items = await backend.artifacts(run_id)
        if name is None:
            return items, None
        named = [a for a in items if a["name"] == name]
        if not named:
            known = ", ".join(sorted({a["name"] for a in items})) or "none"
            raise NotFound(f"run {run_id} has no artifact named {name!r} (it has: {known})")
        return items, await backend.artifact_content(named[-1]["id"])

    items, content = using(server, token, read)
    if content is not None:
        print(content)
        return
    if as_json:
        print_json(items)
        return
    out = table([a["id"] for a in items], "id", "name", "type", "attempt", "bytes", "created")
    for artifact in items:
        out.add_row(
            *cells(
                [
                    artifact["id"],
                    artifact["name"],
                    artifact["media_type"],
                    artifact["attempt"],
                    artifact["size"],
                    when(artifact["created_at"]),
                ]
            )
        )
    print_table(out)
