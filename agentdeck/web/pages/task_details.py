"""What the execution page shows of each task besides its state: its output rendered and
sanitised like an artifact, the plan's estimate and phase for it, and how long it took.

Estimates and phases are not columns of a task: they are read from the run's `plan.json`
artifact, the plan exactly as it was checked when the tasks were created.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from markupsafe import Markup
from pydantic import BaseModel, Field, ValidationError

from agentdeck.domain.plans import Plan, PlanTask
from agentdeck.domain.runs import Artifact
from agentdeck.domain.tasks import TaskStatus
from agentdeck.web import safe_html
from agentdeck.web.schemas import TasksOut

PLAN_ARTIFACT = "plan.json"
# an internal agent's output: its text, and who wrote it (shown in the task's line)
_SHOWN_ELSEWHERE = {"text", "agent", "model", "simulated"}


class TaskPlanOut(BaseModel):
    """What the plan said of a task besides its title: its estimate and its phase."""

    estimate_hours: float | None = Field(description="The plan's estimate of the work.")
    phase: str | None = Field(description="The phase of the plan the task belongs to.")


def plan_details(artifacts: Iterable[Artifact]) -> dict[str, TaskPlanOut]:
    """Task key -> its estimate and phase, from the run's plan.json (empty without one)."""
    found = next((a for a in artifacts if a.name == PLAN_ARTIFACT), None)
    if found is None:
        return {}
    try:
        plan = Plan.model_validate_json(found.content)
    except ValidationError:
        return {}
    out: dict[str, TaskPlanOut] = {}

    def walk(tasks: list[PlanTask], phase: str | None) -> None:
        for task in tasks:
            own = task.phase or phase  # subtasks belong to their task's phase
            if task.estimate_hours is not None or own is not None:
                out[task.id] = TaskPlanOut(estimate_hours=task.estimate_hours, phase=own)
            walk(task.subtasks, own)

    walk(plan.tasks, None)
    return out


def output_html(output: Any) -> Markup | None:
    """A task's output as safe HTML: an agent's text as markdown, anything else as JSON."""
    if output is None:
        return None
    if isinstance(output, str):
        return safe_html.artifact_html("output.md", "text/markdown", output)
    if isinstance(output, dict) and isinstance(output.get("data"), dict):
        output = output["data"]  # an external agent's JSON output; its name is shown apart
    text = output.get("text") if isinstance(output, dict) else None
    if not isinstance(text, str):
        return safe_html.artifact_html("output.json", "application/json", json.dumps(output))
    html = safe_html.artifact_html("output.md", "text/markdown", text)
    rest = {k: v for k, v in output.items() if k not in _SHOWN_ELSEWHERE}
    if rest:  # what an external agent sent besides its text
        html += safe_html.artifact_html("output.json", "application/json", json.dumps(rest))
    return html


def took(started_at: datetime | None, finished_at: datetime | None) -> str | None:
    """'3.2 s', '4 min 10 s', '2 h 5 min' between start and finish; None if either is missing."""
    if started_at is None or finished_at is None:
        return None
    seconds = max(0.0, (finished_at - started_at).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


PAUSED_REASON = "paused with the run: its attempt goes on when the run is resumed"


def as_paused(tasks: TasksOut) -> TasksOut:
    """A paused run's tasks as they stand: nothing of an internal agent is running.

    A pause parks the run after the model calls in flight, which keep their answers in the
    journal; their tasks stay `running` in the store until the resumed run settles them,
    so they are shown as ready (to go on), with the reason.
    """
    moving = (TaskStatus.RUNNING, TaskStatus.ASSIGNED)
    items = [
        t.model_copy(update={"status": TaskStatus.READY, "reason": PAUSED_REASON})
        if t.status in moving and t.executor != "external"
        else t
        for t in tasks.items
    ]
    counts = Counter(t.status.value for t in items if not t.is_group)
    return tasks.model_copy(update={"items": items, "counts": dict(counts)})
