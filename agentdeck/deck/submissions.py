"""Submitting runs: what a submission holds and how it is checked before anything is written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.domain.ids import new_id
from agentdeck.domain.runs import RunStatus
from agentdeck.engine.registry import Registry, Workflow

MAX_PRIORITY = 1000
# The one wording of what a priority means, shared by the API schema, the CLI and the form.
PRIORITY_HELP = f"0 to {MAX_PRIORITY}; a higher priority runs first (default 0)."


@dataclass(frozen=True)
class Submission:
    """One run to submit."""

    workflow: str
    inputs: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    not_before: datetime | None = None
    idempotency_key: str | None = None


def run_row(registry: Registry, now: datetime, sub: Submission) -> dict[str, Any]:
    """The row of one run to insert; InvalidInput names the first bad field."""
    workflow = _workflow(registry, sub.workflow)
    if not isinstance(sub.inputs, dict):
        raise InvalidInput("inputs must be a JSON object", field="inputs")
    inputs = workflow.validate_inputs(sub.inputs)
    check_json(inputs, "inputs")
    if isinstance(sub.priority, bool) or not isinstance(sub.priority, int):
        raise InvalidInput("priority must be an integer", field="priority")
    if not 0 <= sub.priority <= MAX_PRIORITY:
        raise InvalidInput(f"priority must be between 0 and {MAX_PRIORITY}", field="priority")
    if sub.not_before is not None and sub.not_before.tzinfo is None:
        raise InvalidInput("not_before must carry a timezone", field="not_before")
    key = sub.idempotency_key
    if key is not None and not isinstance(key, str):
        raise InvalidInput("idempotency_key must be a string", field="idempotency_key")
    if key is not None and not (0 < len(key) <= 200):
        raise InvalidInput("idempotency_key must be 1 to 200 characters", field="idempotency_key")
    return {
        "id": new_id("run"),
        "workflow": workflow.name,
        "status": RunStatus.QUEUED,
        "inputs": inputs,
        "priority": sub.priority,
        "due_at": max(now, sub.not_before.astimezone(UTC)) if sub.not_before else now,
        "idempotency_key": key,
        "agents": workflow.agents_of(inputs),
        "created_at": now,
        "updated_at": now,
    }


def _workflow(registry: Registry, name: str) -> Workflow:
    if not isinstance(name, str) or not name:
        raise InvalidInput("workflow must be a non-empty string", field="workflow")
    try:
        return registry.get(name)
    except NotFound as error:
        raise InvalidInput(str(error), field="workflow") from None


def check_json(value: Any, what: str) -> None:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"{what} must be JSON: {error}", field=what.split()[0]) from None
    if "\\u0000" in text:
        raise InvalidInput(
            f"{what} contains a NUL character (\\u0000), which cannot be stored",
            field=what.split()[0],
        )


def check_text(value: str | None, field: str) -> None:
    """PostgreSQL cannot even compare with a string holding NUL: refuse it up front."""
    if value is not None and "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character (\\u0000)", field=field)
