"""Services: what a process hands every run beside the engine's own handles.

The engine carries them without knowing what they are: the Deck provides the agent
runner, and workflows read it through `agentdeck.agents.runner_of(ctx)`. Each Deck has
its own, so two Decks in one process never see each other's (no module-level global).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from agentdeck.domain.errors import AgentdeckError

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """The typed name of a service; modules that provide or use one share the key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"


class Services:
    """Services by key; each is built by its provider when first asked for."""

    def __init__(self) -> None:
        self._providers: dict[ServiceKey[Any], Callable[[], Any]] = {}

    def provide(self, key: ServiceKey[T], get: Callable[[], T]) -> None:
        self._providers[key] = get

    def get(self, key: ServiceKey[T]) -> T:
        provider = self._providers.get(key)
        if provider is None:
            raise AgentdeckError(f"no {key.name} here: runs get it from the Deck that runs them")
        return cast("T", provider())
