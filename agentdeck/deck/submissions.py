"""Submitting runs: what a submission holds and how it is checked before anything is written."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from agentdeck.domain.errors import InvalidInput, NotFound
from agentdeck.domain.ids import new_id
from agentdeck.domain.json_values import check_value
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
    # overrides the workflow's declared key and limit; the limit defaults to 1
    concurrency_key: str | None = None
    concurrency_limit: int | None = None


MAX_CONCURRENCY_LIMIT = 10_000


def concurrency_of(workflow: Workflow, sub: Submission, inputs: dict[str, Any]) -> dict[str, Any]:
    """The run's concurrency key and limit: the submit's, else the workflow's, else none."""
    key = sub.concurrency_key
    if key is not None:
        if not isinstance(key, str) or not (0 < len(key) <= 200):
            raise InvalidInput(
                "concurrency_key must be 1 to 200 characters", field="concurrency_key"
            )
        check_value(key, "concurrency_key")
    else:
        key = workflow.concurrency_key_of(inputs)
        if key is not None and not (0 < len(key) <= 200):
            raise InvalidInput(
                f"the concurrency key of workflow {workflow.name!r} is {len(key)} characters "
                "with these inputs; at most 200",
                field="concurrency_key",
            )
    limit = sub.concurrency_limit
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidInput("concurrency_limit must be an integer", field="concurrency_limit")
        if not 1 <= limit <= MAX_CONCURRENCY_LIMIT:
            raise InvalidInput(
                f"concurrency_limit must be between 1 and {MAX_CONCURRENCY_LIMIT}",
                field="concurrency_limit",
            )
        if key is None:
            raise InvalidInput(
                "concurrency_limit needs a concurrency_key (or a workflow that declares one)",
                field="concurrency_limit",
            )
    elif key is not None:
        limit = workflow.concurrency_limit if sub.concurrency_key is None else 1
    return {"concurrency_key": key, "concurrency_limit": limit}


def run_row(registry: Registry, now: datetime, sub: Submission) -> dict[str, Any]:
    """The row of one run to insert; InvalidInput names the first bad field."""
    workflow = _workflow(registry, sub.workflow)
    if not isinstance(sub.inputs, dict):
        raise InvalidInput("inputs must be a JSON object", field="inputs")
    check_value(sub.inputs, "inputs")  # before validation: pydantic would read NaN as a float
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
    check_value(key, "idempotency_key")
    return {
        "id": new_id("run"),
        "workflow": workflow.name,
        "status": RunStatus.QUEUED,
        "inputs": inputs,
        "priority": sub.priority,
        "due_at": max(now, sub.not_before.astimezone(UTC)) if sub.not_before else now,
        "idempotency_key": key,
        "agents": workflow.agents_of(inputs),
        **concurrency_of(workflow, sub, inputs),
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
    """`value` must be JSON that can be stored and shown: see domain/json_values.py."""
    check_value(value, what.split()[0])
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
    """PostgreSQL cannot even compare with a string holding NUL, nor store a lone surrogate:
    refuse them up front, naming the field."""
    if value is not None:
        check_value(value, field)


class AgentFinder(Protocol):
    async def find(self, name: str) -> Any: ...


def _is_agent(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False  # `additionalProperties: true`
    options = [schema, *schema.get("anyOf", [])]
    return any(o.get("x-agentdeck-kind") == "agent" for o in options)


def named_agents(workflow: Workflow, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, agent name) of the inputs the workflow declares as agent names.

    A workflow says so in its inputs model (`x-agentdeck-kind: agent`, as the loop's
    producer, evaluator and reviser do); its other names are labels or roles.
    """
    if workflow.inputs is None:
        return []
    found: list[tuple[str, str]] = []
    for name, prop in workflow.inputs.model_json_schema().get("properties", {}).items():
        value = inputs.get(name)
        if _is_agent(prop) and isinstance(value, str):
            found.append((f"inputs.{name}", value))
        elif _is_agent(prop.get("additionalProperties")) and isinstance(value, dict):
            found.extend((f"inputs.{name}.{k}", v) for k, v in value.items() if isinstance(v, str))
    return found


async def check_agents(
    agents: AgentFinder, registry: Registry, rows: Sequence[dict[str, Any]]
) -> None:
    """An agent an input names must exist now; otherwise the run would fail at its call.

    An agent that declares `run_concurrency` gives a run without a key of its own the key
    `agent:<name>` with that limit.
    """
    for row in rows:
        for where, name in named_agents(registry.get(row["workflow"]), row["inputs"]):
            agent = await agents.find(name)
            if agent is None:
                raise InvalidInput(
                    f"{where}: there is no agent named {name!r}; GET /api/agents lists them, "
                    "POST /api/agents creates one",
                    field=where,
                )
            limit = agent.spec.run_concurrency
            if limit is not None and row.get("concurrency_key") is None:
                # the first agent of the inputs with a limit gives the run its key
                row["concurrency_key"] = f"agent:{name}"
                row["concurrency_limit"] = limit


CURSOR = re.compile(r"^run_[0-9a-z]{26}$")


def check_cursor(cursor: str | None) -> None:
    """A cursor is the `next_cursor` of a page; anything else would answer an empty page."""
    if cursor is not None and not CURSOR.fullmatch(cursor):
        raise InvalidInput(
            f"cursor {cursor[:60]!r} is not one this server gave: pass the `next_cursor` of "
            "the previous page, or leave it out for the first page",
            field="cursor",
        )
