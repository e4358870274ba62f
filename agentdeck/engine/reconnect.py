"""Outlasting a database fault: run a unit of work again, on a fresh connection, with backoff.

A connection-level error (the server restarting, a connection killed, a failover)
is the database's problem, not the run's: the same transaction is tried again until
it commits or the caller stops waiting. Fencing makes a late retry safe: if the run's
lease moved on meanwhile, the write is refused with LeaseLost, never applied twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from agentdeck.store.database import is_connection_error

T = TypeVar("T")

log = logging.getLogger(__name__)

FIRST_DELAY = 0.05
MAX_DELAY = 1.0


class Backoff:
    """Delays of 50 ms doubling up to 1 s, with jitter so that workers do not retry in step."""

    def __init__(self, first: float = FIRST_DELAY, most: float = MAX_DELAY) -> None:
        self._next = first
        self._most = most

    def delay(self) -> float:
        delay = self._next
        self._next = min(self._most, self._next * 2)
        return delay * random.uniform(0.5, 1.0)


async def outlast(
    work: Callable[[], Awaitable[T]],
    *,
    what: str | Callable[[], str],
    give_up: Callable[[], bool] = lambda: False,
) -> T:
    """Await `work()`; on a connection error, log it once and run it again after a backoff.

    Any other error is raised at once; so is a connection error once `give_up()` says so.
    """
    backoff = Backoff()
    failures = 0
    while True:
        try:
            result = await work()
        except Exception as error:
            if not is_connection_error(error) or give_up():
                raise
            failures += 1
            if failures == 1:
                label = what if isinstance(what, str) else what()
                log.warning("%s: database unavailable (%s); retrying", label, _short(error))
            await asyncio.sleep(backoff.delay())
            continue
        if failures:
            label = what if isinstance(what, str) else what()
            log.warning("%s: database back after %d failed tries", label, failures)
        return result


def _short(error: BaseException) -> str:
    """The first line of a driver's message, without the SQL SQLAlchemy appends."""
    orig = getattr(error, "orig", None) or error
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return f"{type(orig).__name__}: {first}"[:300]
