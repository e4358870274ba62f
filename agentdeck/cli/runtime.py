"""Running the engine in a process: a Deck from settings, signals, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agentdeck import workflows
from agentdeck.deck import Deck, Registry
from agentdeck.domain.errors import AgentdeckError
from agentdeck.settings import Settings

T = TypeVar("T")


def open_deck(settings: Settings | None = None) -> Deck:
    """A Deck with the built-in workflows and those of `settings.workflow_modules`, migrated."""
    settings = settings or Settings()
    registry = Registry()
    workflows.register(registry)
    registry.load_modules(settings.workflow_modules)
    return Deck(settings, registry=registry)


def open_deck_or_exit(settings: Settings | None = None) -> Deck:
    """open_deck, or a one-line reason and exit code 1: agentdeck never starts half-configured."""
    try:
        return open_deck(settings)
    except AgentdeckError as error:  # e.g. a broken agents.yaml
        Console(stderr=True).print(
            f"cannot start: {error}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None


def with_deck(fn: Callable[[Deck], Awaitable[T]], *, error_exit: int = 1) -> T:
    """Run `fn(deck)` on a fresh Deck; an agentdeck error is one line on stderr and an exit."""

    async def main() -> T:
        deck = open_deck()
        try:
            return await fn(deck)
        finally:
            await deck.close()

    try:
        return asyncio.run(main())
    except AgentdeckError as error:
        Console(stderr=True).print(
            f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(error_exit) from None


async def run_until_signalled(work: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run `work(stop)`, setting `stop` on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return await work(stop)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
