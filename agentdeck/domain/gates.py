"""Gates: points where a run waits for a person's decision."""

from __future__ import annotations

from enum import StrEnum


class GateDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CHANGES = "changes"  # request changes, with a comment saying which
