"""Where `agentdeck stacks ...` reads and steers: the database through a Deck, or a
server's API. Both answer with the API's JSON (StackOut, StacksOut, CycleOut...)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape

from agentdeck.cli.backends import JSON
from agentdeck.cli.remote import RemoteDeck
from agentdeck.cli.runtime import with_deck
from agentdeck.deck import Deck
from agentdeck.domain.errors import AgentdeckError, InvalidInput
from agentdeck.web.api import stack_reads
from agentdeck.web.api.stacks import bulk_change, create, steer
from agentdeck.web.errors import field_name
from agentdeck.web.schemas.stacks import BulkAction, ScaleIn, StackAction, StackIn

T = TypeVar("T")


class StacksBackend(Protocol):
    """What the stacks commands need, as the API's JSON."""

    async def stacks(self, state: str | None) -> JSON: ...

    async def create(self, body: JSON) -> JSON: ...

    async def stack(self, stack_id: str) -> JSON: ...

    async def steer(self, stack_id: str, action: StackAction) -> JSON: ...

    async def bulk(self, action: BulkAction) -> JSON: ...

    async def scale(self, limit: int | None) -> JSON: ...

    async def stack_scale(self, stack_id: str, limit: int) -> JSON: ...

    async def part(self, stack_id: str, name: str, limit: int) -> list[JSON]: ...


def _checked(model: type[StackIn] | type[ScaleIn], body: JSON) -> Any:
    """The API's own validation, with its field names, before anything is written."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        problem = error.errors()[0]
        where = field_name(("body", *problem["loc"]))
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {message}", field=where) from None


class LocalStacks:
    """The database, through a Deck, answering in the API's shapes."""

    def __init__(self, deck: Deck) -> None:
        self.deck = deck

    async def stacks(self, state: str | None) -> JSON:
        return (await stack_reads.stacks_out(self.deck, state)).model_dump(mode="json")

    async def create(self, body: JSON) -> JSON:
        stack = await create(self.deck, _checked(StackIn, body))
        return stack.model_dump(mode="json")

    async def stack(self, stack_id: str) -> JSON:
        stack = await self.deck.stacks.get(stack_id)
        return (await stack_reads.stack_out(self.deck, stack)).model_dump(mode="json")

    async def steer(self, stack_id: str, action: StackAction) -> JSON:
        return (await steer(self.deck, stack_id, action)).model_dump(mode="json")

    async def bulk(self, action: BulkAction) -> JSON:
        return (await bulk_change(self.deck, action)).model_dump(mode="json")

    async def scale(self, limit: int | None) -> JSON:
        if limit is not None:
            await self.deck.stacks.set_scale(_checked(ScaleIn, {"limit": limit}).limit)
        return (await stack_reads.scale_out(self.deck)).model_dump(mode="json")

    async def stack_scale(self, stack_id: str, limit: int) -> JSON:
        checked = _checked(ScaleIn, {"limit": limit}).limit
        await self.deck.stacks.set_scale(checked, stack_id=stack_id)
        stack = await self.deck.stacks.get(stack_id)
        return (await stack_reads.stack_out(self.deck, stack)).model_dump(mode="json")

    async def part(self, stack_id: str, name: str, limit: int) -> list[JSON]:
        deck = self.deck
        items: Sequence[BaseModel]
        if name == "todos":
            items = await stack_reads.todos_out(deck, stack_id)
        elif name == "messages":
            items = await stack_reads.messages_out(deck, stack_id, limit)
        elif name == "artifacts":
            items = await stack_reads.artifacts_out(deck, stack_id)
        elif name == "agents":
            items = await stack_reads.agents_out(deck, stack_id)
        elif name == "memory":
            items = await stack_reads.memory_out(deck, stack_id)
        else:
            items = await stack_reads.cycles_out(deck, stack_id, limit)
        return [item.model_dump(mode="json") for item in items]


class RemoteStacks(RemoteDeck):
    """A server's /api/stacks."""

    async def stacks(self, state: str | None) -> JSON:
        params = {"state": state} if state else {}
        return await self._json("GET", "/api/stacks", params=params)  # type: ignore[no-any-return]

    async def create(self, body: JSON) -> JSON:
        return await self._json("POST", "/api/stacks", json=body)  # type: ignore[no-any-return]

    async def stack(self, stack_id: str) -> JSON:
        return await self._json("GET", f"/api/stacks/{stack_id}")  # type: ignore[no-any-return]

    async def steer(self, stack_id: str, action: StackAction) -> JSON:
        path = f"/api/stacks/{stack_id}/{action}"
        return await self._json("POST", path)  # type: ignore[no-any-return]

    async def bulk(self, action: BulkAction) -> JSON:
        return await self._json("POST", f"/api/stacks/{action}")  # type: ignore[no-any-return]

    async def scale(self, limit: int | None) -> JSON:
        if limit is None:
            return await self._json("GET", "/api/stacks/scale")  # type: ignore[no-any-return]
        body = {"limit": limit}
        return await self._json("PUT", "/api/stacks/scale", json=body)  # type: ignore[no-any-return]

    async def stack_scale(self, stack_id: str, limit: int) -> JSON:
        path = f"/api/stacks/{stack_id}/scale"
        return await self._json("PUT", path, json={"limit": limit})  # type: ignore[no-any-return]

    async def part(self, stack_id: str, name: str, limit: int) -> list[JSON]:
        params = {"limit": limit} if name in ("messages", "cycles") else {}
        return list(await self._json("GET", f"/api/stacks/{stack_id}/{name}", params=params))


def using_stacks(
    server: str | None, token: str | None, fn: Callable[[StacksBackend], Awaitable[T]]
) -> T:
    """Run `fn` on the server's API when `server` is given, else on the database; an
    agentdeck error is one line on stderr and exit code 2."""
    if not server:
        return with_deck(lambda deck: fn(LocalStacks(deck)), error_exit=2)

    async def main() -> T:
        remote = RemoteStacks(server, token)
        async with remote:
            return await fn(remote)

    try:
        return asyncio.run(main())
    except AgentdeckError as error:
        Console(stderr=True).print(
            f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
