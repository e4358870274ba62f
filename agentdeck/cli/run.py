"""`agentdeck run WORKFLOW`: start a run from the terminal and, with --follow, watch it end.

    agentdeck run loop --agent writer --input topic="Durable agents" --threshold 0.9 --follow

Inputs are built from `--inputs JSON`, then each `--input key=value` (a string) or
`key:=JSON` (a number, list, object...), then the workflow's own flags. A key the
workflow does not take at the top level goes into its `task` object when it has one
(the loop's). Without --server the run is written straight to the database; with
--follow and no live worker, this process executes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console

from agentdeck import workflows
from agentdeck.cli.follow import Display, RunView, follow_local, follow_remote
from agentdeck.cli.remote import RemoteDeck
from agentdeck.cli.runtime import open_deck
from agentdeck.deck import PRIORITY_HELP, Deck, Registry, Workflow
from agentdeck.domain.errors import AgentdeckError, InvalidInput
from agentdeck.domain.runs import Run

console = Console()
AGENT_KIND = "x-agentdeck-kind"

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Talk to the agentdeck at this URL (e.g. http://127.0.0.1:8000) instead of "
        "the database.",
        envvar="AGENTDECK_SERVER",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="AGENTDECK_TOKEN", help="The server's API token.", show_default=False
    ),
]


def run_command(
    workflow: Annotated[str, typer.Argument(help="The workflow to run, e.g. loop.")],
    input_pairs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help="key=value (a string) or key:=JSON; a.b=value sets a nested key. For the "
            "loop, keys that are not its own inputs go into `task`.",
        ),
    ] = None,
    inputs_json: Annotated[
        str | None, typer.Option("--inputs", help="All inputs as one JSON object.")
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="One agent for every role (producer, evaluator, reviser).")
    ] = None,
    producer: Annotated[str | None, typer.Option(help="The producer agent.")] = None,
    evaluator: Annotated[str | None, typer.Option(help="The evaluator agent.")] = None,
    reviser: Annotated[str | None, typer.Option(help="The reviser agent.")] = None,
    max_attempts: Annotated[int | None, typer.Option(help="Attempts before failing.")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="The pass threshold, 0 to 1 (pass_threshold).")
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="The run's budget in USD (budget_usd).")
    ] = None,
    priority: Annotated[int, typer.Option(help=PRIORITY_HELP)] = 0,
    concurrency_key: Annotated[
        str | None,
        typer.Option(help="Runs sharing this key never exceed --concurrency-limit at once."),
    ] = None,
    concurrency_limit: Annotated[
        int | None, typer.Option(help="Runs with the key that may run at once (default 1).")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Show the run live until it ends.")
    ] = False,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="With --follow and no --server: execute runs in this process while "
            "following (default: only when no worker is alive).",
            show_default=False,
        ),
    ] = None,
    server: ServerOption = None,
    token: TokenOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Start a run; with --follow, show its stage, attempt, score, cost and time until it ends.

    Exits 0 when the run passed (succeeded, and no `failed` verdict), 1 when it did not,
    2 when it could not be started.
    """
    flags: dict[str, Any] = {
        "producer": producer,
        "evaluator": evaluator,
        "reviser": reviser,
        "max_attempts": max_attempts,
        "pass_threshold": threshold,
        "budget_usd": budget,
    }
    request = RunRequest(workflow, inputs_json, input_pairs or [], agent, flags, priority)
    request.concurrency = {
        k: v
        for k, v in {
            "concurrency_key": concurrency_key,
            "concurrency_limit": concurrency_limit,
        }.items()
        if v is not None
    }
    try:
        if server:
            code = asyncio.run(_remote(request, server, token, follow, as_json))
        else:
            code = asyncio.run(_local(request, follow, worker, as_json))
    except AgentdeckError as error:
        console.print(f"[red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("stopped following; the run goes on (see `agentdeck runs show ID`)")
        raise typer.Exit(130) from None
    raise typer.Exit(code)


class RunRequest:
    """What the command line asks for, turned into a workflow's inputs."""

    def __init__(
        self,
        workflow: str,
        inputs_json: str | None,
        pairs: list[str],
        agent: str | None,
        flags: dict[str, Any],
        priority: int,
    ) -> None:
        self.workflow = workflow
        self.inputs_json = inputs_json
        self.pairs = pairs
        self.agent = agent
        self.flags = {k: v for k, v in flags.items() if v is not None}
        self.priority = priority
        # concurrency_key / concurrency_limit, when given
        self.concurrency: dict[str, Any] = {}

    def inputs(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        """The inputs; `schema` (the workflow's input schema, if known) routes the keys."""
        inputs: dict[str, Any] = {}
        if self.inputs_json is not None:
            try:
                inputs = json.loads(self.inputs_json)
            except ValueError as error:
                raise InvalidInput(f"--inputs is not JSON: {error}", field="inputs") from None
            if not isinstance(inputs, dict):
                raise InvalidInput("--inputs must be a JSON object", field="inputs")
        properties: dict[str, Any] = (schema or {}).get("properties", {})
        for pair in self.pairs:
            path, value = parse_pair(pair)
            if properties and path[0] not in properties and _has_task(properties):
                path = ["task", *path]
            _set(inputs, path, value)
        if self.agent is not None:
            roles = [name for name, p in properties.items() if p.get(AGENT_KIND) == "agent"]
            if not roles:
                raise InvalidInput(
                    f"--agent: workflow {self.workflow!r} names no agents in its inputs",
                    field="agent",
                )
            for role in roles:
                inputs[role] = self.agent  # --producer and the like, below, win
        for name, value in self.flags.items():
            if properties and name not in properties:
                flag = "--threshold" if name == "pass_threshold" else f"--{name}"
                raise InvalidInput(
                    f"{flag.replace('_', '-')}: workflow {self.workflow!r} has no input {name!r}",
                    field=name,
                )
            inputs[name] = value
        return inputs


def parse_pair(text: str) -> tuple[list[str], Any]:
    """`a.b=text` -> (["a", "b"], "text"); `n:=3` -> (["n"], 3)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidInput(f"--input {text!r}: write key=value or key:=JSON", field="input")
    parsed: Any = value
    if key.endswith(":"):
        key = key[:-1]
        try:
            parsed = json.loads(value)
        except ValueError as error:
            raise InvalidInput(f"--input {text!r}: not JSON after :=: {error}") from None
    path = key.strip().split(".")
    if not all(path):
        raise InvalidInput(f"--input {text!r}: the key is empty", field="input")
    return path, parsed


def _has_task(properties: dict[str, Any]) -> bool:
    task = properties.get("task")
    return isinstance(task, dict) and task.get("type") == "object"


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    for name in path[:-1]:
        inner = target.get(name)
        if not isinstance(inner, dict):
            inner = target[name] = {}
        target = inner
    target[path[-1]] = value


def builtin_schema(name: str) -> dict[str, Any] | None:
    """The input schema of a built-in workflow, known without asking a server."""
    registry = Registry()
    workflows.register(registry)
    found = registry.find(name)
    return found.input_schema() if found else None


# --- in this process -----------------------------------------------------------------


async def _local(request: RunRequest, follow: bool, worker: bool | None, as_json: bool) -> int:
    deck = open_deck()
    try:
        await deck.start()
        try:
            workflow = deck.registry.get(request.workflow)
        except AgentdeckError as error:
            raise InvalidInput(str(error), field="workflow") from None
        inputs = request.inputs(workflow.input_schema())
        await _check_agents(deck, workflow, inputs)
        run = await deck.submit(
            workflow.name, inputs, priority=request.priority, **request.concurrency
        )
        _print_submitted(RunView.of_run(run), as_json, run_json=_run_json(run))
        if not follow:
            return 0
        local_worker = None
        if worker or (worker is None and not await _worker_alive(deck)):
            console.print(
                "no worker is running, so this process executes the run "
                "(start `agentdeck up` or `agentdeck worker` to run them elsewhere)",
                style="dim",
            )
            console.print(deck.llm.status(), style="dim", highlight=False)
            deck.llm.warm()
            local_worker = deck.worker()
            await local_worker.start()
        try:
            with Display(console) as display:
                view = await follow_local(deck, run.id, display)
        finally:
            if local_worker is not None:
                await local_worker.stop(timedelta(0))  # other runs it took go back to the queue
        return display.finish(view)
    finally:
        await deck.close()


async def _check_agents(deck: Deck, workflow: Workflow, inputs: dict[str, Any]) -> None:
    """Refuse to start a run naming an agent that does not exist."""
    for name in workflow.agents_of(workflow.validate_inputs(inputs)) or []:
        if await deck.agents.find(name) is None:
            known = ", ".join(a.name for a in await deck.agents.list())
            raise InvalidInput(f"no agent {name!r} (known: {known})", field="agent")


async def _worker_alive(deck: Deck) -> bool:
    lost_after = deck.settings.worker_lost_after
    now = datetime.now(UTC)
    return any(
        w.status == "alive" and now - w.heartbeat_at < lost_after for w in await deck.workers()
    )


def _run_json(run: Run) -> dict[str, Any]:
    return dataclasses.asdict(run)


# --- on a server ---------------------------------------------------------------------


async def _remote(
    request: RunRequest, server: str, token: str | None, follow: bool, as_json: bool
) -> int:
    async with RemoteDeck(server, token) as remote:
        inputs = request.inputs(await _remote_schema(remote, request.workflow))
        run = await remote.submit(request.workflow, inputs, request.priority, **request.concurrency)
        _print_submitted(RunView.of_json(run), as_json, run_json=run)
        if not follow:
            return 0
        with Display(console) as display:
            view = await follow_remote(remote, str(run["id"]), display)
        return display.finish(view)


async def _remote_schema(remote: RemoteDeck, workflow: str) -> dict[str, Any] | None:
    """The workflow's input schema as the server publishes it, else the built-in one."""
    try:
        for found in await remote.workflows():
            if found.get("name") == workflow:
                return found.get("input_schema")
    except (AgentdeckError, KeyError, TypeError):
        pass
    return builtin_schema(workflow)


def _print_submitted(view: RunView, as_json: bool, run_json: dict[str, Any]) -> None:
    if as_json:
        print(json.dumps(run_json, default=str))
    else:
        console.print(f"run [bold]{view.id}[/] ({view.workflow}) {view.status}")
