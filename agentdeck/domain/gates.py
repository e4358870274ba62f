"""Gates: points where a run waits for a person's decision."""

from __future__ import annotations

from enum import StrEnum


class GateDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CHANGES = "changes"  # request changes, with a comment saying which


GATE_PREFIX = "gate:"


def gate_channel(gate: str) -> str:
    """The signal name a gate's decisions travel on; plain signals cannot use it."""
    return f"{GATE_PREFIX}{gate}"
