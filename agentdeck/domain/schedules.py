"""Schedules: when a scheduled workflow is due next. Pure rules, all times UTC.

A spec is one of
    daily HH:MM              every day at that time (UTC)
    every N minutes|hours    every N minutes or hours, counted from 1970-01-01 00:00 UTC

Counting from a fixed epoch (not from when the schedule was made) means the due times of
a spec never depend on when a process happened to look: every worker computes the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from agentdeck.domain.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PERIOD = timedelta(days=7)
SPEC_HELP = "'daily HH:MM' (UTC) or 'every N minutes' / 'every N hours' (N from 1, at most a week)"

_DAILY = re.compile(r"daily\s+([0-9]{1,2}):([0-9]{2})")
_EVERY = re.compile(r"every\s+([0-9]{1,6})\s+(minute|minutes|hour|hours)")


@dataclass(frozen=True, slots=True)
class Spec:
    """A parsed spec: exactly one of `at` (daily) and `period` (every N) is set."""

    text: str
    at: time | None = None
    period: timedelta | None = None


def parse_spec(text: object) -> Spec:
    """The spec `text` names; InvalidInput (field "spec") says what is accepted."""
    if not isinstance(text, str):
        raise InvalidInput(f"spec must be a string: {SPEC_HELP}", field="spec")
    clean = " ".join(text.strip().lower().split())
    if m := _DAILY.fullmatch(clean):
        hour, minute = int(m[1]), int(m[2])
        if hour > 23 or minute > 59:
            raise InvalidInput(f"no such time of day {m[1]}:{m[2]}: {SPEC_HELP}", field="spec")
        return Spec(f"daily {hour:02d}:{minute:02d}", at=time(hour, minute))
    if m := _EVERY.fullmatch(clean):
        n, unit = int(m[1]), m[2].rstrip("s")
        period = timedelta(minutes=n) if unit == "minute" else timedelta(hours=n)
        if n < 1 or period > MAX_PERIOD:
            raise InvalidInput(f"{text!r} is out of range: {SPEC_HELP}", field="spec")
        return Spec(f"every {n} {unit}{'s' if n != 1 else ''}", period=period)
    raise InvalidInput(f"unknown schedule {text[:100]!r}: use {SPEC_HELP}", field="spec")


def next_due(spec: Spec, after: datetime) -> datetime:
    """The first time strictly after `after` at which `spec` is due."""
    if after.tzinfo is None:
        raise ValueError("next_due needs an aware datetime")
    after = after.astimezone(UTC)
    if spec.period is not None:
        periods = (after - EPOCH) // spec.period
        return EPOCH + (periods + 1) * spec.period
    assert spec.at is not None
    today = datetime.combine(after.date(), spec.at, tzinfo=UTC)
    return today if today > after else today + timedelta(days=1)
