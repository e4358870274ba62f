"""What a worker's fence did: the writes it judged and refused, with the leases it knew.

Fencing itself is one check in the writer's transaction (engine/writer.py): a write lands
only while (run, worker, epoch) still hold the run's lease. This module keeps the
worker's side of the story: until when it believed each lease held, how many of its
writes the check judged and refused, and a log line for every refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from agentdeck.domain.runs import RunStatus
from agentdeck.store.runs import Lease

log = logging.getLogger(__name__)


@dataclass
class FenceMark:
    """One write's dealings with the fence, carried on the write."""

    # until when the worker believed the lease held when the write was queued
    lease_until: datetime | None = None
    # when the fence judged it, and why it was refused (None: it landed)
    judged_at: datetime | None = None
    refusal: str | None = None

    def judge(self, lease: Lease | None, held: bool, now: datetime) -> None:
        self.judged_at = now
        self.refusal = None if held else _reason(lease)


@dataclass
class FenceCounts:
    """The writes of one worker that reached the fence, and those it refused.

    `late_*` count the writes sent after the lease the worker last renewed for the run
    had expired (a partition, a long pause): another worker may hold the run by then, and
    every such write must be refused unless nobody took the run over in between.
    """

    attempted: int = 0
    refused: int = 0
    late_attempted: int = 0
    late_refused: int = 0

    def __str__(self) -> str:
        return (
            f"{self.attempted} writes attempted, {self.refused} refused; "
            f"{self.late_attempted} sent past their lease, {self.late_refused} of them refused"
        )


class Fence:
    """One worker's leases as it knows them, and the counts of what its fence judged."""

    def __init__(self) -> None:
        self.counts = FenceCounts()
        self._lease_until: dict[str, datetime] = {}

    def note_lease(self, run_id: str, expires_at: datetime) -> None:
        """The run was claimed or its lease renewed: it holds until `expires_at`."""
        self._lease_until[run_id] = expires_at

    def forget_lease(self, run_id: str) -> None:
        """The run left the worker; writes of it still queued keep the expiry they had."""
        self._lease_until.pop(run_id, None)

    def lease_until(self, run_id: str) -> datetime | None:
        return self._lease_until.get(run_id)

    def record(self, judged: Iterable[tuple[str, int, FenceMark]]) -> None:
        """Count the (run, epoch, mark) of a committed batch; log each refusal."""
        for run_id, epoch, mark in judged:
            if mark.judged_at is None:
                continue
            # a lease renewed after the write was queued counts; a run gone keeps its last
            until = self._lease_until.get(run_id, mark.lease_until)
            late = until is not None and mark.judged_at >= until
            self.counts.attempted += 1
            self.counts.late_attempted += late
            if mark.refusal is None:
                continue
            self.counts.refused += 1
            self.counts.late_refused += late
            log.warning(
                "fencing refused a write of run %s at epoch %d%s: %s",
                run_id,
                epoch,
                " (sent past its lease)" if late else "",
                mark.refusal,
            )


def _reason(lease: Lease | None) -> str:
    """Why a write was refused, for the log: where the run stands now."""
    if lease is None:
        return "the run is gone"
    if lease.status != RunStatus.RUNNING:
        return f"the run is {lease.status}"
    return f"the run is held by {lease.claimed_by} at epoch {lease.lease_epoch}"
