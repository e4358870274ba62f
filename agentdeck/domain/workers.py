"""A worker process as the dashboard and the API show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WorkerRow:
    id: str
    hostname: str
    pid: int
    concurrency: int
    status: str
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
