"""The event kinds the engine itself records; workflows add their own."""

from __future__ import annotations

from enum import StrEnum

MAX_EVENT_ID = 2**63 - 1  # BIGINT: a larger id would overflow a query parameter


class EventKind(StrEnum):
    SUBMITTED = "run.submitted"
    STARTED = "run.started"
    SUCCEEDED = "run.succeeded"
    FAILED = "run.failed"
    CANCELLED = "run.cancelled"
    CANCEL_REQUESTED = "run.cancel_requested"
    PAUSE_REQUESTED = "run.pause_requested"
    PAUSED = "run.paused"
    RESUMED = "run.resumed"
    WAITING = "run.waiting"
    LEASE_EXPIRED = "run.lease_expired"
    RELEASED = "run.released"
    RETRIED = "run.retried"
    STEP_RETRY = "step.retry"
    STEP_FAILED = "step.failed"
    GATE_OPENED = "gate.opened"
    GATE_DECIDED = "gate.decided"
    SIGNAL = "signal.received"
    LOG = "log"
