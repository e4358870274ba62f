"""Watching and holding the offline simulator's calls, so a test acts at an exact moment."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from agentdeck.deck import Deck
from agentdeck.store.schema import usage

ROLES = ("producer", "evaluator", "reviser")


class Hold:
    """The n-th call of a role: `entered` is set when it starts; it answers after `release`."""

    def __init__(self, role: str, nth: int) -> None:
        self.role = role
        self.nth = nth
        self.entered = asyncio.Event()
        self.release = asyncio.Event()


class SimulatedCalls:
    """Counts the simulator's model calls per role (answered ones) and holds chosen ones."""

    def __init__(self, deck: Deck, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self._holds: list[Hold] = []
        for role in ROLES:
            model = deck.llm.factory.simulator(role)
            monkeypatch.setattr(model, "request", self._wrap(role, model.request))

    def hold(self, role: str, nth: int = 1) -> Hold:
        hold = Hold(role, nth)
        self._holds.append(hold)
        return hold

    def _wrap(self, role: str, request: Any) -> Any:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.started[role] += 1
            for hold in self._holds:
                if hold.role == role and hold.nth == self.started[role]:
                    hold.entered.set()
                    await hold.release.wait()
            response = await request(*args, **kwargs)
            self.answered[role] += 1
            return response

        return counted


async def usage_by_step(deck: Deck) -> dict[str, int]:
    """Usage rows (one per paid model call) per step key."""
    query = select(usage.c.step_key, func.count()).group_by(usage.c.step_key)
    rows = await deck.db.read(lambda conn: conn.execute(query).all())
    return {str(key): int(n) for key, n in rows}


async def wait_for(event: asyncio.Event, what: str, timeout: float = 15) -> None:  # noqa: ASYNC109
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
