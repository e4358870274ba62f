"""`agentdeck build` and `agentdeck repos`: start builds, answer their gates, read them.

With `--run`, the command also executes the build in this process until it waits at a
gate or finishes, so a build can be driven from a terminal alone (no `agentdeck up`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agentdeck.cli.output import cells, console, print_json, print_table, table, when
from agentdeck.cli.runtime import with_deck
from agentdeck.deck import Deck
from agentdeck.deck.build_views import BuildView

build_app = typer.Typer(help="Builds: review, plan and execute changes on a git repository.")
repos_app = typer.Typer(help="Git repositories builds run on.", no_args_is_help=True)

RunOption = Annotated[
    bool, typer.Option("--run", help="Execute here until the build waits at a gate or ends.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


async def _drive(deck: Deck, run_id: str) -> None:
    worker = deck.worker(concurrency=10)
    await worker.start(loops=False)
    try:
        await worker.drain()
    finally:
        await worker.stop()


@build_app.command("start")
def start(
    repository: Annotated[str, typer.Argument(help="A registered repository's name or id.")],
    request: Annotated[str, typer.Argument(help='What to build, e.g. "Add the agents: A, B".')],
    mode: Annotated[str, typer.Option(help="frugal, balanced, performance or max.")] = "balanced",
    plan_approval: Annotated[str, typer.Option(help="whole, per-phase or none.")] = "whole",
    diff_approval: Annotated[
        bool, typer.Option("--diff-approval/--no-diff-approval", help="Approve each diff.")
    ] = True,
    phases: Annotated[int | None, typer.Option(help="Phases to execute (default all).")] = None,
    priority: Annotated[int, typer.Option(help="0 to 1000; higher runs first.")] = 0,
    push: Annotated[bool, typer.Option(help="Push the branch to the repository's remote.")] = False,
    not_before: Annotated[
        datetime | None,
        typer.Option(help="Run overnight: not before this time (UTC unless it says otherwise)."),
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="Budget in USD (alerts at 50/80/100 %).")
    ] = None,
    orchestrator_model: Annotated[
        str | None, typer.Option(help="The orchestrator's model, e.g. anthropic:claude-sonnet-4-5.")
    ] = None,
    run: RunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Queue a build; with --run, execute it here up to its first gate."""

    async def go(deck: Deck) -> BuildView:
        started = await deck.builds.start(
            repository,
            request,
            mode=mode,
            plan_approval=plan_approval,
            diff_approval=diff_approval,
            max_phases=phases,
            priority=priority,
            push=push,
            not_before=None if not_before is None else _utc(not_before),
            budget_usd=budget,
            orchestrator_model=orchestrator_model,
        )
        if run:
            await _drive(deck, started.id)
        return await deck.builds.get(started.id)

    _show(with_deck(go), as_json)


def _decide(
    run_id: str, decision: str, gate: str | None, comment: str | None, run: bool, as_json: bool
) -> None:
    async def go(deck: Deck) -> BuildView:
        view = await deck.builds.get(run_id)
        await deck.builds.decide(run_id, gate or view.gate or "", decision, comment)
        if run:
            await _drive(deck, run_id)
        return await deck.builds.get(run_id)

    _show(with_deck(go), as_json)


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


GateOption = Annotated[
    str | None, typer.Option(help="The gate (default: the one the build waits at).")
]


@build_app.command("approve")
def approve(
    run_id: str,
    gate: GateOption = None,
    comment: Annotated[str | None, typer.Option(help="A note for the agents.")] = None,
    run: RunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Approve the plan, a phase's start or a phase's diff."""
    _decide(run_id, "approve", gate, comment, run, as_json)


@build_app.command("reject")
def reject(
    run_id: str,
    gate: GateOption = None,
    comment: Annotated[str | None, typer.Option(help="Why.")] = None,
    run: RunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Reject: the build stops (a rejected diff is discarded, nothing is committed)."""
    _decide(run_id, "reject", gate, comment, run, as_json)


@build_app.command("changes")
def changes(
    run_id: str,
    comment: Annotated[str, typer.Option(help="Which changes the agents should make.")],
    gate: GateOption = None,
    run: RunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Request changes: the agents revise and the diff (or plan) is shown again."""
    _decide(run_id, "changes", gate, comment, run, as_json)


@build_app.command("priority")
def priority(
    run_id: str,
    value: Annotated[int, typer.Argument(help="0 to 1000; higher runs first.")],
    as_json: JsonOption = False,
) -> None:
    """Move a queued, waiting or paused build up or down the queue."""

    async def go(deck: Deck) -> BuildView:
        await deck.builds.reprioritize(run_id, value)
        return await deck.builds.get(run_id)

    _show(with_deck(go), as_json)


@build_app.command("show")
def show(run_id: str, as_json: JsonOption = False) -> None:
    """A build: review findings, plan with estimates, phases with diffs and tests, gate."""
    _show(with_deck(lambda deck: deck.builds.get(run_id)), as_json)


@build_app.command("list")
def list_builds(as_json: JsonOption = False) -> None:
    """The queue (highest priority first), then finished builds."""

    async def go(deck: Deck) -> list[Any]:
        return await deck.builds.list()

    runs = with_deck(go)
    if as_json:
        print_json([{"id": r.id, "status": r.status, "priority": r.priority} for r in runs])
        return
    out = table(
        [r.id for r in runs], "id", "status", "priority", "request", "stage", "cost", "created"
    )
    for r in runs:
        out.add_row(
            *cells(
                [
                    r.id,
                    r.status,
                    r.priority,
                    r.inputs.get("request"),
                    r.stage or r.waiting_on,
                    f"${r.cost_usd:.4f}",
                    when(r.created_at),
                ]
            )
        )
    print_table(out)


def _show(view: BuildView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_json())
        return
    run = view.run
    console.print(f"[bold]build {run.id}[/] {escape(str(run.inputs.get('request')))}")
    console.print(f"status: {run.status}   branch: agentdeck/{run.id}   cost: ${run.cost_usd:.4f}")
    if run.error:
        console.print(f"[red]error:[/] {escape(run.error)}")
    for finding in view.findings:
        console.print(f"  · {escape(finding)}")
    if view.plan:
        plan = Table(title=f"plan ({escape(str(view.plan.get('mode')))} mode)")
        for column in ("phase", "task", "role", "kind", "model", "hours", "tokens", "cost"):
            plan.add_column(column)
        for phase in view.phases:
            for task in phase.tasks:
                plan.add_row(
                    *cells(
                        [
                            phase.id,
                            f"{task['id']} {task['title']}",
                            task["role"],
                            task["kind"],
                            task["model"],
                            task["estimate_hours"],
                            task["estimate_tokens"],
                            f"${task['cost_usd']}",
                        ]
                    )
                )
        totals = view.plan["totals"]
        plan.add_row(
            *cells(
                [
                    "total",
                    f"{totals['tasks']} tasks",
                    "",
                    "",
                    "",
                    totals["estimate_hours"],
                    totals["estimate_tokens"],
                    f"${totals['cost_usd']}",
                ]
            )
        )
        print_table(plan)
    for phase in view.phases:
        if phase.status == "pending":
            continue
        tests = phase.tests
        verdict = (
            "" if tests is None else (" tests passed" if tests.get("passed") else " tests FAILED")
        )
        console.print(f"[bold]{phase.id}[/] {escape(phase.title)}: {phase.status}{verdict}")
        for change in phase.diff:
            console.print(
                f"  {change['status']:>8} {escape(change['path'])} "
                f"+{change['added']} -{change['removed']}"
            )
    if view.gate:
        console.print(
            f"[yellow]waiting at gate {escape(view.gate)!r}[/]: "
            f"agentdeck build approve {run.id} (or reject, or changes --comment ...)"
        )


@repos_app.command("add")
def add(
    path: Annotated[str, typer.Argument(help="Absolute path of a local git repository.")],
    name: Annotated[str | None, typer.Option(help="Default: the folder's name.")] = None,
    push_remote: Annotated[str | None, typer.Option(help="Where --push sends branches.")] = None,
) -> None:
    """Register a local git repository."""
    row = with_deck(
        lambda deck: deck.builds.repositories.register(path, name=name, push_remote=push_remote)
    )
    console.print(f"registered {escape(row.name)} ({row.id}) at {escape(row.path)}")


@repos_app.command("clone")
def clone(
    source: Annotated[str, typer.Argument(help="A path or git URL.")],
    name: Annotated[str | None, typer.Option(help="Default: from the source.")] = None,
    push_remote: Annotated[str | None, typer.Option(help="Where --push sends branches.")] = None,
) -> None:
    """Clone a repository into the builds folder and register it."""
    row = with_deck(
        lambda deck: deck.builds.repositories.clone(source, name=name, push_remote=push_remote)
    )
    console.print(f"cloned {escape(row.name)} ({row.id}) into {escape(row.path)}")


@repos_app.command("list")
def list_repos(as_json: JsonOption = False) -> None:
    """Registered repositories."""
    rows = with_deck(lambda deck: deck.builds.repositories.list())
    if as_json:
        print_json([{"id": r.id, "name": r.name, "path": r.path} for r in rows])
        return
    out = table([r.id for r in rows], "id", "name", "path", "origin")
    for r in rows:
        out.add_row(*cells([r.id, r.name, r.path, r.origin]))
    print_table(out)
