"""Where a CLI command reads and steers: the database through a Deck, or a server's API.

Both answer with the API's JSON (RunOut, EventOut, ArtifactOut, TasksOut...), so each
command is written once and prints the same thing with or without `--server`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agentdeck.cli.remote import RemoteDeck
from agentdeck.cli.runtime import with_deck
from agentdeck.deck import Deck
from agentdeck.domain.errors import AgentdeckError
from agentdeck.domain.runs import Run, RunFilter
from agentdeck.web.schemas.runs import ArtifactOut, EventOut, RunOut
from agentdeck.web.schemas.tasks import task_views

T = TypeVar("T")
JSON = dict[str, Any]


class Backend(Protocol):
    """What the runs, plans and tasks commands need, as the API's JSON."""

    async def list_runs(
        self, statuses: tuple[str, ...] = (), workflow: str | None = None, limit: int = 20
    ) -> list[JSON]: ...

    async def get(self, run_id: str) -> JSON: ...

    async def cancel(self, run_id: str) -> JSON: ...

    async def pause(self, run_id: str) -> JSON: ...

    async def resume(self, run_id: str) -> JSON: ...

    async def retry(self, run_id: str) -> JSON: ...

    async def rerun(self, run_id: str, from_step: str) -> JSON: ...

    async def all_events(self, run_id: str, after: int = 0) -> list[JSON]: ...

    async def artifacts(self, run_id: str) -> list[JSON]: ...

    async def artifact_content(self, artifact_id: str) -> str: ...

    async def tasks(self, run_id: str) -> JSON: ...


class LocalBackend:
    """The database, through a Deck, answering in the API's shapes."""

    def __init__(self, deck: Deck) -> None:
        self.deck = deck

    def _run(self, run: Run) -> JSON:
        out = RunOut.of(run, self.deck.clock.now(), self.deck.settings.stalled_after)
        return out.model_dump(mode="json")

    async def list_runs(
        self, statuses: tuple[str, ...] = (), workflow: str | None = None, limit: int = 20
    ) -> list[JSON]:
        where = RunFilter(statuses=statuses, workflow=workflow)
        page = await self.deck.list(where, limit=limit)
        return [self._run(r) for r in page.items]

    async def get(self, run_id: str) -> JSON:
        return self._run(await self.deck.get(run_id))

    async def cancel(self, run_id: str) -> JSON:
        return self._run(await self.deck.cancel(run_id))

    async def pause(self, run_id: str) -> JSON:
        return self._run(await self.deck.pause(run_id))

    async def resume(self, run_id: str) -> JSON:
        return self._run(await self.deck.resume(run_id))

    async def retry(self, run_id: str) -> JSON:
        return self._run(await self.deck.retry(run_id))

    async def rerun(self, run_id: str, from_step: str) -> JSON:
        return self._run(await self.deck.reruns.from_step(run_id, from_step))

    async def all_events(self, run_id: str, after: int = 0) -> list[JSON]:
        out: list[JSON] = []
        while True:
            page = await self.deck.events(run_id, after=after)
            if not page:
                return out
            out += [EventOut.of(e).model_dump(mode="json") for e in page]
            after = page[-1].id

    async def artifacts(self, run_id: str) -> list[JSON]:
        return [
            ArtifactOut.of(a).model_dump(mode="json") for a in await self.deck.artifacts(run_id)
        ]

    async def artifact_content(self, artifact_id: str) -> str:
        return (await self.deck.artifact(artifact_id)).content

    async def tasks(self, run_id: str) -> JSON:
        return task_views(run_id, await self.deck.tasks.tasks(run_id)).model_dump(mode="json")


def using(server: str | None, token: str | None, fn: Callable[[Backend], Awaitable[T]]) -> T:
    """Run `fn` on the server's API when `server` is given, else on the database.

    An agentdeck error (unknown run, a refused change, a wrong token) is one line on
    stderr and exit code 2.
    """
    if not server:
        return with_deck(lambda deck: fn(LocalBackend(deck)), error_exit=2)

    async def main() -> T:
        async with RemoteDeck(server, token) as remote:
            return await fn(remote)

    try:
        return asyncio.run(main())
    except AgentdeckError as error:
        Console(stderr=True).print(
            f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
