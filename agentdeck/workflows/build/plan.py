"""A build's plan: phases of tasks, validated, with estimates of time, tokens and cost.

The orchestrator answers with JSON; `parse_plan` turns it into a BuildPlan or raises
InvalidPlan naming the first bad field (`plan.phases[0].tasks[1].role: ...`), so an
invalid plan creates nothing. `estimate` prices every task with the first model of the
chain the build's mode gives its role and kind (genai-prices).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_ai.usage import RequestUsage

from agentdeck.agents.modes import ModeTable, TaskKind
from agentdeck.domain.errors import InvalidInput
from agentdeck.llm.calls import cost_of
from agentdeck.llm.config import DEFAULT_ENDPOINTS
from agentdeck.llm.names import parse_model_name

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$"
# share of a task's tokens that is output: code is mostly written, files are read first
OUTPUT_SHARE = Decimal("0.3")


class InvalidPlan(InvalidInput):
    """The orchestrator's plan cannot be used; the message names the field."""


class PlanTask(BaseModel):
    """One task: what to do, which role does it, how long and how many tokens it should take."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    role: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,59}$")
    kind: TaskKind = TaskKind.SIMPLE_CRUD
    estimate_hours: float = Field(1.0, ge=0, le=1000)
    estimate_tokens: int = Field(5000, ge=0, le=10_000_000)
    files: list[str] = Field(default_factory=list, max_length=50)


class PlanPhase(BaseModel):
    """A phase: tasks whose changes are reviewed and committed together."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=200)
    tasks: list[PlanTask] = Field(min_length=1, max_length=30)


class BuildPlan(BaseModel):
    """The whole plan."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field("Build", max_length=300)
    summary: str = Field("", max_length=4000)
    phases: list[PlanPhase] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique_ids(self) -> BuildPlan:
        phases = [p.id for p in self.phases]
        tasks = [t.id for p in self.phases for t in p.tasks]
        for what, ids in (("phase", phases), ("task", tasks)):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(f"{what} id {twice[0]!r} is used more than once")
        return self


def parse_plan(answer: str | dict[str, Any], roles: Collection[str]) -> BuildPlan:
    """The plan of an answer (JSON text or object), or InvalidPlan saying what is wrong."""
    data: Any = answer
    if isinstance(answer, str):
        try:
            data = json.loads(answer)
        except ValueError as error:
            raise InvalidPlan(f"plan: not JSON ({error}): {answer[:120]!r}", "plan") from None
    if not isinstance(data, dict):
        raise InvalidPlan("plan: must be a JSON object with a `phases` list", "plan")
    try:
        plan = BuildPlan.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidPlan(f"plan{where}: {message}", f"plan{where}") from None
    for i, phase in enumerate(plan.phases):
        for j, task in enumerate(phase.tasks):
            if task.role not in roles:
                where = f"plan.phases[{i}].tasks[{j}].role"
                known = ", ".join(sorted(roles))
                raise InvalidPlan(
                    f"{where}: no agent for role {task.role!r} (known: {known})", where
                )
    return plan


def task_cost(chain: list[str], tokens: int) -> Decimal | None:
    """The price of `tokens` on the first model of `chain`; None when it has no known price."""
    ref = parse_model_name(chain[0], DEFAULT_ENDPOINTS)
    output = int(Decimal(tokens) * OUTPUT_SHARE)
    return cost_of(ref, RequestUsage(input_tokens=tokens - output, output_tokens=output))


def estimate(plan: BuildPlan, modes: ModeTable, mode: str) -> dict[str, Any]:
    """The plan as JSON, each task with its models and cost, each phase and the whole totalled."""
    phases: list[dict[str, Any]] = []
    total_cost, total_hours, total_tokens, unpriced = Decimal(0), 0.0, 0, 0
    for phase in plan.phases:
        tasks = []
        cost, hours, tokens = Decimal(0), 0.0, 0
        for task in phase.tasks:
            chain = modes.chain(mode, task.role, task.kind)
            price = task_cost(chain, task.estimate_tokens)
            unpriced += price is None
            cost += price or 0
            hours += task.estimate_hours
            tokens += task.estimate_tokens
            row = task.model_dump(mode="json")
            tasks.append({**row, "models": chain, "model": chain[0], "cost_usd": _money(price)})
        phases.append(
            {
                "id": phase.id,
                "title": phase.title,
                "tasks": tasks,
                "estimate_hours": hours,
                "estimate_tokens": tokens,
                "cost_usd": _money(cost),
            }
        )
        total_cost += cost
        total_hours += hours
        total_tokens += tokens
    return {
        "title": plan.title,
        "summary": plan.summary,
        "mode": mode,
        "phases": phases,
        "totals": {
            "phases": len(phases),
            "tasks": sum(len(p.tasks) for p in plan.phases),
            "estimate_hours": total_hours,
            "estimate_tokens": total_tokens,
            "cost_usd": _money(total_cost),
            "unpriced_tasks": unpriced,
        },
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.0001")))
