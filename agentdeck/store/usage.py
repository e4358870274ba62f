"""Roll-ups of model usage: tokens and cost per run, per agent and per day.

`cost_usd` is the sum of the known costs; `unpriced_calls` counts calls whose price is
unknown, so a total is never shown as complete when it is not.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from agentdeck.domain.usage import ModelCall, UsageTotal
from agentdeck.store.schema import usage


def _totals(key: ColumnElement[Any] | None) -> list[ColumnElement[Any]]:
    columns: list[ColumnElement[Any]] = [
        func.count().label("calls"),
        func.coalesce(func.sum(usage.c.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(usage.c.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(usage.c.cached_tokens), 0).label("cached_tokens"),
        func.coalesce(func.sum(usage.c.cost_usd), 0).label("cost_usd"),
        func.coalesce(func.sum(case((usage.c.cost_usd.is_(None), 1), else_=0)), 0).label(
            "unpriced_calls"
        ),
    ]
    return [key.label("key"), *columns] if key is not None else columns


def _row(row: Any, key: str | None) -> UsageTotal:
    return UsageTotal(
        key=key,
        calls=int(row.calls),
        input_tokens=int(row.input_tokens),
        output_tokens=int(row.output_tokens),
        cached_tokens=int(row.cached_tokens),
        cost_usd=Decimal(str(row.cost_usd)),
        unpriced_calls=int(row.unpriced_calls),
    )


def run_total(conn: Connection, run_id: str) -> UsageTotal:
    row = conn.execute(select(*_totals(None)).where(usage.c.run_id == run_id)).one()
    return _row(row, run_id)


def list_calls(conn: Connection, run_id: str) -> list[ModelCall]:
    """Every model call of one run, in the order they were recorded."""
    query = select(usage).where(usage.c.run_id == run_id).order_by(usage.c.id)
    return [
        ModelCall(
            id=r.id,
            run_id=r.run_id,
            step_key=r.step_key,
            agent=r.agent,
            provider=r.provider,
            model=r.model,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            cached_tokens=r.cached_tokens,
            cost_usd=None if r.cost_usd is None else Decimal(str(r.cost_usd)),
            created_at=r.created_at,
        )
        for r in conn.execute(query)
    ]


def by_run(conn: Connection, run_ids: list[str]) -> dict[str, UsageTotal]:
    """Totals of many runs in one query (runs without usage are absent)."""
    if not run_ids:
        return {}
    query = select(*_totals(usage.c.run_id)).where(usage.c.run_id.in_(run_ids))
    rows = conn.execute(query.group_by(usage.c.run_id))
    return {r.key: _row(r, r.key) for r in rows}


def by_agent(
    conn: Connection,
    *,
    run_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[UsageTotal]:
    """Totals per agent, over one run or a time window."""
    query = select(*_totals(usage.c.agent)).group_by(usage.c.agent).order_by(usage.c.agent)
    query = _window(query, run_id, since, until)
    return [_row(r, r.key) for r in conn.execute(query)]


def by_model(
    conn: Connection, *, run_id: str | None = None, since: datetime | None = None
) -> list[UsageTotal]:
    """Totals per `provider:model`."""
    key = usage.c.provider + ":" + usage.c.model
    query = select(*_totals(key)).group_by(usage.c.provider, usage.c.model).order_by(key)
    query = _window(query, run_id, since, None)
    return [_row(r, r.key) for r in conn.execute(query)]


def by_day(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    agent: str | None = None,
) -> list[UsageTotal]:
    """Totals per UTC day (key `YYYY-MM-DD`), oldest first."""
    day = _day(conn)
    query = select(*_totals(day)).group_by(day).order_by(day)
    query = _window(query, None, since, until)
    if agent is not None:
        query = query.where(usage.c.agent == agent)
    return [_row(r, _day_key(r.key)) for r in conn.execute(query)]


def _day(conn: Connection) -> ColumnElement[Any]:
    # SQLite stores UTC text: its first ten characters are the day. PostgreSQL
    # stores timestamptz: the session's time zone must not move the day, so cast in UTC.
    if conn.dialect.name == "sqlite":
        return func.substr(usage.c.created_at, 1, 10)
    return cast(func.timezone("UTC", usage.c.created_at), Date)


def _day_key(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _window(query: Any, run_id: str | None, since: datetime | None, until: datetime | None) -> Any:
    if run_id is not None:
        query = query.where(usage.c.run_id == run_id)
    if since is not None:
        query = query.where(usage.c.created_at >= since)
    if until is not None:
        query = query.where(usage.c.created_at < until)
    return query
