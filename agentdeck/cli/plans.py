"""`agentdeck plans ...` and `agentdeck tasks ...`: plan executions and their tasks, in the
database or on a --server (the same output either way).

    agentdeck plans list                 # executions: status, progress, blocked tasks
    agentdeck plans show RUN_ID          # one execution: its tasks with state, agent, timing
    agentdeck tasks list RUN_ID --status blocked
    agentdeck tasks show RUN_ID:KEY      # one task as JSON, with its output
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from agentdeck.cli.backends import JSON, Backend, using
from agentdeck.cli.output import cells, duration, print_json, print_table, table, when
from agentdeck.cli.run import ServerOption, TokenOption
from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.workflows.plan.workflow import NAME as PLAN

plans_app = typer.Typer(help="Plan executions: their progress and tasks.", no_args_is_help=True)
tasks_app = typer.Typer(help="The tasks of a plan execution.", no_args_is_help=True)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LABEL_CHARS = 60


@plans_app.command("list")
def list_plans(
    status: Annotated[list[str] | None, typer.Option(help="Only these run statuses.")] = None,
    limit: Annotated[int, typer.Option()] = 20,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """The newest plan executions, each with its tasks' progress."""

    async def read(backend: Backend) -> list[JSON]:
        runs = await backend.list_runs(tuple(status or ()), PLAN, limit)
        out = []
        for run in runs:
            tasks = await backend.tasks(run["id"])
            out.append({"run": run, "tasks": _summary(tasks)})
        return out

    items = using(server, token, read)
    if as_json:
        print_json(items)
        return
    out = table(
        [i["run"]["id"] for i in items], "id", "status", "plan", "tasks done", "blocked", "created"
    )
    for item in items:
        run, tasks = item["run"], item["tasks"]
        out.add_row(
            *cells(
                [
                    run["id"],
                    run["status"],
                    plan_label(run["inputs"].get("plan")),
                    f"{tasks['finished']}/{tasks['total']}",
                    tasks["blocked"] or "",
                    when(run["created_at"]),
                ]
            )
        )
    print_table(out)


@plans_app.command("show")
def show_plan(
    run_id: str,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """One execution: the run, then every task with its state, agent, attempt and timing."""

    async def read(backend: Backend) -> JSON:
        run = await backend.get(run_id)
        if run["workflow"] != PLAN:
            raise InvalidInput(
                f"run {run_id} is a {run['workflow']} run: only plan runs have tasks"
            )
        return {"run": run, "tasks": await backend.tasks(run_id)}

    found = using(server, token, read)
    if as_json:
        print_json(found)
        return
    run, tasks = found["run"], found["tasks"]
    summary = _summary(tasks)
    console.print(
        f"{run['id']} [bold]{run['status']}[/] · {plan_label(run['inputs'].get('plan'))} · "
        f"{summary['finished']}/{summary['total']} tasks finished"
        + (f" · {summary['blocked']} blocked" if summary["blocked"] else ""),
        highlight=False,
        soft_wrap=True,
    )
    print_table(_task_table(tasks["items"], by_key=True))
    for task in tasks["blocked"]:
        console.print(
            f"blocked: {task['id']}: {task['reason'] or task['error'] or 'no reason given'}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@tasks_app.command("list")
def list_tasks(
    run_id: str,
    status: Annotated[list[str] | None, typer.Option(help="Only tasks in these states.")] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """A plan execution's tasks in plan order, with state, agent, attempt and timing."""
    found = using(server, token, lambda b: b.tasks(run_id))
    items = [t for t in found["items"] if not status or t["status"] in status]
    if as_json:
        print_json(items)
        return
    print_table(_task_table(items))


@tasks_app.command("show")
def show_task(task_id: str, server: ServerOption = None, token: TokenOption = None) -> None:
    """One task as JSON (its output, error, reason, lease), by its `<run id>:<key>` id."""
    run_id, sep, key = task_id.rpartition(":")
    if not sep or not run_id or not key:
        console.print(f"error: {task_id!r} is not a task id (`<run id>:<key>`)", markup=False)
        raise typer.Exit(2)

    async def read(backend: Backend) -> JSON:
        tasks = await backend.tasks(run_id)
        for task in tasks["items"]:
            if task["id"] == task_id:
                return task  # type: ignore[no-any-return]
        raise NotFound(f"no task with id {task_id!r}")

    print(json.dumps(using(server, token, read), indent=2))


def _task_table(items: list[JSON], *, by_key: bool = False) -> Any:
    """Tasks as rows; `by_key` names them by key (under one run), else by their whole id."""
    name = "key" if by_key else "id"
    out = table(
        [t[name] for t in items],
        name,
        "title",
        "status",
        "role",
        "agent",
        "attempt",
        "started",
        "took",
    )
    for task in items:
        title = "  " * task["depth"] + task["title"]
        agent = task["agent"] or ""
        if task["executor"] == "external" and agent:
            agent = f"{agent} (external)"
        out.add_row(
            *cells(
                [
                    task[name],
                    title,
                    task["status"],
                    task["role"],
                    agent,
                    task["attempt"] or "",
                    when(task["started_at"]),
                    duration(task["started_at"], task["finished_at"]),
                ]
            )
        )
    return out


def _summary(tasks: JSON) -> JSON:
    """Counts of the tasks without subtasks: how many in all, finished and blocked."""
    counts: dict[str, int] = tasks["counts"]
    finished = sum(counts.get(s, 0) for s in ("completed", "failed", "skipped", "cancelled"))
    return {
        "total": sum(counts.values()),
        "finished": finished,
        "blocked": counts.get("blocked", 0),
        "progress": tasks["progress"],
        "counts": counts,
    }


def plan_label(plan: Any) -> str:
    """A short name for a plan: its title, else the first line of its text."""
    if isinstance(plan, dict) and isinstance(plan.get("title"), str):
        text: str = plan["title"]
    elif isinstance(plan, str):
        text = next((ln.strip().lstrip("#").strip() for ln in plan.splitlines() if ln.strip()), "")
    else:
        text = f"{len(plan)} tasks" if isinstance(plan, list) else "a plan"
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
