"""What a gate says to the person who decides it: where the run waits, why, and what each
button will do.

A plan run's `human review` gate waits for blocked tasks: it names them, says why each
is blocked, and its buttons say what happens to the first one ("Approve = retry T3";
a task held for review before it ever ran is run, not retried). The budget gate says
what raising the budget does; any other gate says what the workflow is told.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from agentdeck.domain.tasks import REVIEW_GATE
from agentdeck.web.schemas import RunOut, TaskOut

BUDGET_GATE = "budget"


class GateTaskOut(BaseModel):
    """A task the gate waits for."""

    key: str
    title: str
    reason: str | None
    ran: bool = Field(description="False for a task held for review before it ever ran.")


class GateChoiceOut(BaseModel):
    """One button of the gate and what it will do."""

    decision: str = Field(description="approve, changes or reject")
    label: str
    effect: str


class GateHelpOut(BaseModel):
    """Where the run waits, why, and the effect of each decision."""

    stage: str | None = Field(description="The run's stage when it stopped here.")
    why: str
    tasks: list[GateTaskOut] = Field(description="For `human review`: the blocked tasks.")
    choices: list[GateChoiceOut]


def ran(task: TaskOut) -> bool:
    """Whether a task has ever been started (a task held for review has not)."""
    return task.started_at is not None


def explain(
    name: str, message: str | None, run: RunOut, blocked: list[TaskOut] | None
) -> GateHelpOut:
    """The help for gate `name` of `run`; `blocked` are a plan run's blocked tasks."""
    if name == REVIEW_GATE and blocked is not None:
        return _review(run, blocked)
    if name == BUDGET_GATE:
        return GateHelpOut(
            stage=run.current_stage,
            why=message or "A model call would take the run past its budget.",
            tasks=[],
            choices=[
                _choice("approve", "Approve", "raise the budget (to the amount below, or "
                        "double it) and make the call"),
                _choice("changes", "Request changes", "keep the budget: the call is refused "
                        "and the run fails, with your comment"),
                _choice("reject", "Reject", "keep the budget: the call is refused and the "
                        "run fails"),
            ],
        )  # fmt: skip
    if message == f"waiting for gate {name}":  # the engine's own words say nothing more
        message = None
    where = (
        f" during “{run.current_stage}”" if run.current_stage and run.current_stage != name else ""
    )
    return GateHelpOut(
        stage=run.current_stage,
        why=message or f"The {run.workflow} workflow stopped{where} for a person's decision.",
        tasks=[],
        choices=[
            _choice("approve", "Approve", f"the run goes on past “{name}”"),
            _choice("changes", "Request changes", "the run receives your comment and acts "
                    "on it (the workflow decides how, for instance by revising)"),
            _choice("reject", "Reject", "the run is told no; the workflow decides what "
                    "follows, usually it ends"),
        ],
    )  # fmt: skip


def _review(run: RunOut, blocked: list[TaskOut]) -> GateHelpOut:
    tasks = [GateTaskOut(key=t.key, title=t.title, reason=t.reason, ran=ran(t)) for t in blocked]
    count = (
        "1 task of this plan waits" if len(tasks) == 1 else f"{len(tasks)} tasks of this plan wait"
    )
    why = (
        f"{count} for a person, and no other task can run until they are "
        "decided. The buttons decide the first one; the execution page's Blockers panel "
        "decides each task on its own."
    )
    if not tasks:
        return GateHelpOut(stage=run.current_stage, why=why, tasks=[], choices=[])
    first = tasks[0]
    key = first.key
    if first.ran:
        approve = f"retry {key} (a new attempt)"
        changes = f"retry {key} with your comment as a note to its next attempt"
    else:
        approve = f"run {key}: it was held for review before it ever ran"
        changes = f"run {key} with your comment as a note to its agent"
    return GateHelpOut(
        stage=run.current_stage,
        why=why,
        tasks=tasks,
        choices=[
            _choice("approve", "Approve", approve),
            _choice("changes", "Request changes", changes),
            _choice("reject", "Reject", f"skip {key}; the tasks after it go ahead without it"),
        ],
    )


def _choice(decision: str, label: str, effect: str) -> GateChoiceOut:
    return GateChoiceOut(decision=decision, label=label, effect=effect)
