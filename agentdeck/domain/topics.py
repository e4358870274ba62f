"""Wake-up topics: what a process tells its workers, streams and polls, and the
NOTIFY payload that carries one across processes."""

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


def payload(topic: Topic, run_id: str | None = None) -> str:
    return f"{topic}:{run_id}" if run_id else topic.value


def parse_payload(text: str) -> tuple[Topic, str | None]:
    topic, _, run_id = text.partition(":")
    return Topic(topic), run_id or None
