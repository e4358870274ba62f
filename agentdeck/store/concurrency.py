"""Claiming runs that share a concurrency key: never more than the key's limit running at once.

Runs without a key are claimed by `runs.claim` alone; this query runs only when a
claim still has free slots, and reads a partial index that holds keyed queued runs only.

PostgreSQL: a transaction-scoped advisory lock per key serialises the count and
the claim, so two workers cannot both take a key's last slot; the locks are taken
in one order (their numbers) so two claimers cannot deadlock. SQLite: the caller's
`BEGIN IMMEDIATE` already makes the claimer the only writer.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, func, literal_column, select, update
from sqlalchemy.orm import aliased

from agentdeck.domain.runs import Claim, RunStatus
from agentdeck.store.runs import CLAIM_COLUMNS
from agentdeck.store.schema import runs

# Keyed candidates read per claim, beyond the free slots: runs of a key that fills
# up during this claim are skipped, and those after them still get a chance.
_EXTRA_CANDIDATES = 32

_QUEUED: ColumnElement[str] = literal_column(f"'{RunStatus.QUEUED.value}'")
_RUNNING: ColumnElement[str] = literal_column(f"'{RunStatus.RUNNING.value}'")


def lock_number(key: str) -> int:
    """The advisory lock of a key: a signed 64-bit number, the same in every process."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def claim_keyed(
    conn: Connection,
    *,
    worker_id: str,
    limit: int,
    now: datetime,
    lease_expires_at: datetime,
) -> list[Claim]:
    """Take up to `limit` due keyed runs whose key has a free slot, in claim order."""
    if limit <= 0:
        return []
    other = aliased(runs)
    running = (
        select(func.count())
        .select_from(other)
        .where(other.c.status == _RUNNING, other.c.concurrency_key == runs.c.concurrency_key)
        .scalar_subquery()
    )
    candidates = conn.execute(
        select(runs.c.id, runs.c.concurrency_key, runs.c.concurrency_limit)
        .where(
            runs.c.status == _QUEUED,
            runs.c.concurrency_key.is_not(None),
            runs.c.due_at <= now,
            running < runs.c.concurrency_limit,  # keys already full are not even read
        )
        .order_by(runs.c.priority.desc(), runs.c.due_at, runs.c.created_at, runs.c.id)
        .limit(limit + _EXTRA_CANDIDATES)
    ).all()
    if not candidates:
        return []
    keys = {c.concurrency_key for c in candidates}
    if conn.dialect.name == "postgresql":
        for number in sorted({lock_number(k) for k in keys}):
            conn.execute(select(func.pg_advisory_xact_lock(number)))
    # Counted under the locks: a claim another worker committed meanwhile is seen.
    counts: dict[str, int] = dict(
        conn.execute(
            select(runs.c.concurrency_key, func.count())
            .where(runs.c.status == _RUNNING, runs.c.concurrency_key.in_(sorted(keys)))
            .group_by(runs.c.concurrency_key)
        ).all()
    )
    claimed: list[Claim] = []
    for candidate in candidates:
        key = candidate.concurrency_key
        if len(claimed) == limit:
            break
        if counts.get(key, 0) >= candidate.concurrency_limit:
            continue
        row = conn.execute(
            update(runs)
            .where(runs.c.id == candidate.id, runs.c.status == _QUEUED)
            .values(
                status=RunStatus.RUNNING,
                claimed_by=worker_id,
                claimed_at=now,
                lease_epoch=runs.c.lease_epoch + 1,
                lease_expires_at=lease_expires_at,
                heartbeat_at=now,
                started_at=func.coalesce(runs.c.started_at, now),
                wait_kind=None,
                waiting_on=None,
                updated_at=now,
            )
            .returning(*CLAIM_COLUMNS)
        ).first()
        if row is not None:  # another worker took it between the read and the update
            claimed.append(Claim(*row))
            counts[key] = counts.get(key, 0) + 1
    return claimed
