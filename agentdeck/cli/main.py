"""The `agentdeck` command."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console

from agentdeck import __version__
from agentdeck.cli.agents import agents_app
from agentdeck.cli.builds import build_app, repos_app
from agentdeck.cli.plans import plans_app, tasks_app
from agentdeck.cli.providers import print_llm_choice, providers_app
from agentdeck.cli.run import run_command
from agentdeck.cli.runs import runs_app
from agentdeck.cli.runtime import configure_logging, open_deck_or_exit, run_until_signalled
from agentdeck.cli.schedules import schedules_app
from agentdeck.cli.stacks import stacks_app
from agentdeck.cli.tokens import tokens_app
from agentdeck.deck import upgrade_database
from agentdeck.settings import Settings

app = typer.Typer(help="Run, watch and steer AI-agent workflows.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(runs_app, name="runs")
app.add_typer(agents_app, name="agents")
app.add_typer(plans_app, name="plans")
app.add_typer(tasks_app, name="tasks")
app.add_typer(stacks_app, name="stacks")
app.add_typer(schedules_app, name="schedules")
app.add_typer(providers_app, name="providers")
app.add_typer(build_app, name="build")
app.add_typer(repos_app, name="repos")
app.add_typer(tokens_app, name="tokens")
app.command("run")(run_command)
console = Console()


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    settings = Settings()
    url = upgrade_database(settings)
    console.print(f"database at [bold]{url.split('@')[-1]}[/] is up to date")


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Runs executed at once.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run a worker: claim and execute runs until SIGTERM, then stop gracefully."""
    configure_logging(verbose)

    async def main(stop: asyncio.Event) -> None:
        deck = open_deck_or_exit()
        deck.llm.warm()  # load the model layer now, not during the first run's call
        await deck.start()
        worker = deck.worker(concurrency)
        await worker.start()
        console.print(
            f"worker [bold]{worker.id}[/] started (concurrency {worker.config.concurrency})"
        )
        await print_llm_choice(deck)
        await stop.wait()
        console.print("stopping: letting runs finish, then releasing the rest")
        await deck.close()

    asyncio.run(run_until_signalled(main))


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Runs executed at once.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Start the API and a worker in one process (SQLite by default)."""
    _serve(host, port, verbose, worker=True, concurrency=concurrency)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Start the API only; runs are executed by `agentdeck worker` processes."""
    _serve(host, port, verbose, worker=False)


def _serve(
    host: str | None,
    port: int | None,
    verbose: bool,
    *,
    worker: bool,
    concurrency: int | None = None,
) -> None:
    configure_logging(verbose)
    settings = Settings()
    host = host or settings.host
    port = port or settings.port

    # checked before anything opens: a public address without a token never serves
    from agentdeck.web.auth import bind_refusal, is_loopback
    from agentdeck.web.login_throttle import token_refusal

    token = settings.token.get_secret_value() if settings.token is not None else None
    refusal = bind_refusal(host, settings) or token_refusal(token)
    if refusal is not None:
        console.print(f"cannot start: {refusal}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)

    import uvicorn  # the web stack loads only for the commands that serve

    from agentdeck.web.app import create_app
    from agentdeck.web.server import server_config

    async def main(stop: asyncio.Event) -> None:
        deck = open_deck_or_exit(settings)
        await deck.start()
        running = deck.worker(concurrency) if worker else None
        if running is not None:
            await running.start()
        config = server_config(create_app(deck, host), host, port, settings)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        console.print(f"agentdeck {__version__} on [bold]http://{host}:{port}[/]")
        where = f"worker {running.id}" if running else "no worker here (run `agentdeck worker`)"
        console.print(f"database: {deck.db.dialect}; {where}")
        if not is_loopback(host) and not settings.allowed_hosts:
            # the edge answers only Host names it knows (DNS rebinding): say how to add one
            console.print(
                "requests must name this server in their Host header: add a DNS name "
                "for it to AGENTDECK_ALLOWED_HOSTS (other names are answered 421)",
                markup=False,
            )
        if settings.token is not None:
            console.print("API token required (AGENTDECK_TOKEN)")
        await print_llm_choice(deck)  # the dashboard's banner says the same
        if running is not None:
            deck.llm.warm()  # load the LLM layer now, not at the first agent call
        await asyncio.wait(
            [serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        server.should_exit = True
        await serving
        await deck.close()

    asyncio.run(run_until_signalled(main))


def print_json(value: object) -> None:
    console.print_json(json.dumps(value, default=str))
