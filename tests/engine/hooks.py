"""asyncio.Event hooks that hold a step mid-flight, so tests act at an exact moment."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from agentdeck.deck import Deck
from agentdeck.engine.rescuer import Rescuer


class Hold:
    """A step body that signals `entered` once `expected` calls are inside, then waits."""

    def __init__(self, expected: int = 1) -> None:
        self.expected = expected
        self.calls = 0
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        if self.calls >= self.expected:
            self.entered.set()
        await self.release.wait()
        return self.calls


class Calls(Counter[str]):
    """Counts executions of step bodies by name; `fn(name, value)` makes a counting body."""

    def fn(self, name: str, value: Any = None) -> Any:
        def body() -> Any:
            self[name] += 1
            return name if value is None else value

        return body


def rescuer(deck: Deck, worker_lost_after: timedelta = timedelta(minutes=10)) -> Rescuer:
    """A rescuer on the deck's database and clock, as any process could run one."""
    return Rescuer(deck.db, deck.notifier, deck.clock, worker_lost_after)
