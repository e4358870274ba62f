"""Tables and JSON as the list commands print them: ids always whole, so they can be copied."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()


def table(ids: Iterable[str], *columns: str) -> Table:
    """A table whose first column holds ids: never cut nor wrapped, whatever the width.

    The other columns fold instead, so a narrow terminal wraps an error message, not an id.
    """
    widest = max((len(i) for i in ids), default=2)
    out = Table(show_lines=False)
    out.add_column(columns[0], no_wrap=True, min_width=widest)
    for name in columns[1:]:
        out.add_column(name, overflow="fold")
    return out


def print_table(out: Table) -> None:
    console.print(out, crop=False)


def print_json(value: object) -> None:
    """Plain JSON on stdout (no colours), for scripts and `jq`."""
    print(json.dumps(value, default=str))


def when(value: datetime | str | None) -> str:
    """A timestamp of the API (ISO 8601) or of the database, as `YYYY-MM-DD HH:MM:SS`."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value:%Y-%m-%d %H:%M:%S}"


def duration(start: datetime | str | None, end: datetime | str | None) -> str:
    """How long from `start` to `end`, e.g. `1m 05s`; empty when either is missing."""
    if start is None or end is None:
        return ""
    begin = datetime.fromisoformat(start) if isinstance(start, str) else start
    finish = datetime.fromisoformat(end) if isinstance(end, str) else end
    seconds = max(0.0, (finish - begin).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def cells(row: Sequence[object]) -> list[str]:
    """Values as table cells, escaped: a `[redacted]` in a message is text, not markup."""
    return ["" if v is None else escape(str(v)) for v in row]
