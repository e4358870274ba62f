"""`agentdeck stacks ...`: create, list, show, steer and scale stacks, in the database or on
a --server (the same output either way).

    agentdeck stacks create shop --idea "a shop for maps" --budget 2 --start
    agentdeck stacks list                     # state, cycles, agents busy, cost, last decision
    agentdeck stacks show STACK_ID            # todos, the last cycles and each decision's reason
    agentdeck stacks pause STACK_ID           # also start, resume, stop
    agentdeck stacks scale 0                  # hold every stack; `scale 20` lets 20 agents run
    agentdeck stacks pause-all                # also start-all, stop-all
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from agentdeck.cli.backends import JSON
from agentdeck.cli.output import cells, print_json, print_table, table, when
from agentdeck.cli.run import ServerOption, TokenOption
from agentdeck.cli.stack_backends import StacksBackend, using_stacks
from agentdeck.web.schemas.stacks import BulkAction, StackAction

stacks_app = typer.Typer(
    help="Stacks: teams of role agents working in cycles.", no_args_is_help=True
)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
StackArg = Annotated[str, typer.Argument(help="The stack's id.")]
AgentOption = Annotated[str | None, typer.Option(help="The agent of this role (its name).")]
CYCLES_SHOWN = 10


@stacks_app.command("list")
def list_stacks(
    state: Annotated[str | None, typer.Option(help="Only stacks in this state.")] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Every stack, with its whole id, and the scale control."""
    found = using_stacks(server, token, lambda b: b.stacks(state))
    if as_json:
        print_json(found)
        return
    items = found["items"]
    out = table([s["id"] for s in items], "id", "name", "state", "cycles", "busy", "cost", "why")
    for s in items:
        budget = f" / ${s['budget_usd']}" if s["budget_usd"] else ""
        out.add_row(
            *cells(
                [
                    s["id"],
                    s["name"],
                    s["state"],
                    s["cycles"],
                    s["agents_busy"],
                    f"${s['cost_usd']}{budget}",
                    s["reason"] or "",
                ]
            )
        )
    print_table(out)
    scale = found["scale"]
    console.print(
        f"scale: {scale['limit']} agent executions at once ({scale['busy']} running)",
        highlight=False,
    )


@stacks_app.command("create")
def create_stack(
    name: Annotated[str, typer.Argument(help="The stack's name.")],
    idea: Annotated[
        str | None, typer.Option(help="The project idea (none: the planner invents one).")
    ] = None,
    planner: AgentOption = None,
    builder: AgentOption = None,
    communicator: AgentOption = None,
    reviewer: AgentOption = None,
    budget: Annotated[str | None, typer.Option(help="Budget in USD (none: no limit).")] = None,
    max_concurrent: Annotated[
        int | None, typer.Option(help="Agent executions of this stack at once.")
    ] = None,
    start: Annotated[bool, typer.Option("--start", help="Start it at once.")] = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Create a stack; each role's agent defaults to the agent named like the role."""
    agents = {
        role: agent
        for role, agent in (
            ("planner", planner),
            ("builder", builder),
            ("communicator", communicator),
            ("reviewer", reviewer),
        )
        if agent
    }
    body: dict[str, Any] = {"name": name, "idea": idea, "agents": agents, "auto_start": start}
    if budget is not None:
        body["budget_usd"] = budget
    if max_concurrent is not None:
        body["max_concurrent"] = max_concurrent
    stack = using_stacks(server, token, lambda b: b.create(body))
    if as_json:
        print_json(stack)
        return
    console.print(f"{stack['id']} [bold]{stack['state']}[/] {stack['name']}", highlight=False)


@stacks_app.command("show")
def show(
    stack_id: StackArg,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """One stack: its state, todos and last cycles with each decision's reason."""

    async def read(backend: StacksBackend) -> JSON:
        return {
            "stack": await backend.stack(stack_id),
            "agents": await backend.part(stack_id, "agents", 10),
            "todos": await backend.part(stack_id, "todos", 500),
            "cycles": await backend.part(stack_id, "cycles", CYCLES_SHOWN),
        }

    found = using_stacks(server, token, read)
    if as_json:
        print_json(found)
        return
    stack = found["stack"]
    console.print(
        f"{stack['id']} [bold]{stack['name']}[/] {stack['state']}"
        + (f" ({escape(stack['reason'])})" if stack["reason"] else ""),
        highlight=False,
        markup=True,
    )
    console.print(f"idea: {stack['idea'] or '(none yet)'}", markup=False, highlight=False)
    team = ", ".join(f"{a['role']}: {a['agent']}" for a in found["agents"])
    console.print(f"agents: {team}", markup=False, highlight=False)
    console.print(
        f"cycles: {stack['cycles']}, agents busy: {stack['agents_busy']}, "
        f"cost: ${stack['cost_usd']}"
        + (f" of ${stack['budget_usd']}" if stack["budget_usd"] else ""),
        highlight=False,
    )
    todos = found["todos"]
    out = table([t["id"] for t in todos], "todo", "status", "priority", "title")
    for t in todos:
        out.add_row(*cells([t["id"], t["status"], t["priority"], t["title"]]))
    print_table(out)
    cycles = found["cycles"]
    out = table([str(c["number"]) for c in cycles], "cycle", "started", "agents", "decision")
    for c in cycles:
        agents = ", ".join(f"{n['role']} p{n['priority']} {n['state']}" for n in c["nodes"])
        decision = c["decision"]
        said = f"{decision['action']}: {decision['reason']}"
        out.add_row(*cells([c["number"], when(c["started_at"]), agents, said]))
    print_table(out)


def _steer(stack_id: str, action: StackAction, server: str | None, token: str | None) -> None:
    stack = using_stacks(server, token, lambda b: b.steer(stack_id, action))
    console.print(f"{stack['id']} [bold]{stack['state']}[/]", highlight=False)


@stacks_app.command("start")
def start(stack_id: StackArg, server: ServerOption = None, token: TokenOption = None) -> None:
    """Start an idle stack: its first cycle is queued at once."""
    _steer(stack_id, "start", server, token)


@stacks_app.command("pause")
def pause(stack_id: StackArg, server: ServerOption = None, token: TokenOption = None) -> None:
    """Pause a running stack: no new cycle; agents executing now finish."""
    _steer(stack_id, "pause", server, token)


@stacks_app.command("resume")
def resume(stack_id: StackArg, server: ServerOption = None, token: TokenOption = None) -> None:
    """Resume a paused stack where it was."""
    _steer(stack_id, "resume", server, token)


@stacks_app.command("stop")
def stop(stack_id: StackArg, server: ServerOption = None, token: TokenOption = None) -> None:
    """Stop a stack for good."""
    _steer(stack_id, "stop", server, token)


@stacks_app.command("scale")
def scale(
    limit: Annotated[
        int | None, typer.Argument(help="Agent executions at once (none: print the limit).")
    ] = None,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Scale this stack only (its max concurrent).")
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """How many agent executions may run at once, across all stacks or in one; 0 holds them."""
    if stack is not None:
        if limit is None:
            raise typer.BadParameter("give the limit for the stack, e.g. `scale 2 --stack ID`")
        found = using_stacks(server, token, lambda b: b.stack_scale(stack, limit))
        if as_json:
            print_json(found)
            return
        console.print(f"{found['id']} scale: {found['scale']}", highlight=False)
        return
    scaled = using_stacks(server, token, lambda b: b.scale(limit))
    if as_json:
        print_json(scaled)
        return
    console.print(
        f"scale: {scaled['limit']} agent executions at once (of {scaled['max']}; "
        f"{scaled['busy']} running)",
        highlight=False,
    )


def _bulk(action: BulkAction, server: str | None, token: str | None, as_json: bool) -> None:
    done = using_stacks(server, token, lambda b: b.bulk(action))
    if as_json:
        print_json(done)
        return
    console.print(f"{action}: {done['changed']} stacks changed", highlight=False)


@stacks_app.command("start-all")
def start_all(
    as_json: JsonOption = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Start every idle or stopped stack and resume every paused one."""
    _bulk("start-all", server, token, as_json)


@stacks_app.command("pause-all")
def pause_all(
    as_json: JsonOption = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Pause every running stack, in one transaction."""
    _bulk("pause-all", server, token, as_json)


@stacks_app.command("stop-all")
def stop_all(
    as_json: JsonOption = False, server: ServerOption = None, token: TokenOption = None
) -> None:
    """Stop every stack that is not stopped, in one transaction."""
    _bulk("stop-all", server, token, as_json)
