"""Wake-up topics: what a process tells its workers, streams and polls (in-process through
the engine's Notifier, across processes as PostgreSQL NOTIFY payloads, store/notify.py)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Topic(StrEnum):
    READY = "ready"  # runs became claimable
    CANCEL = "cancel"  # a person asked a running run to stop now
    PAUSE = "pause"  # a person asked a running run to park after its current step
    FINISHED = "finished"  # a run reached a finished or waiting state
    EVENT = "event"  # a run recorded events


Listener = Callable[[Topic, str | None], None]
