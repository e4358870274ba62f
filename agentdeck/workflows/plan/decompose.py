"""From what a person wrote to a checked task graph: JSON, structured markdown, or free text.

JSON and markdown plans are read and checked when a run is submitted, so a bad plan is
refused before anything exists. Free text is decomposed inside the run by a planner
agent into the same JSON, checked the same way; an answer that fails the check is sent
back once with the problems, and a second failure fails the run with them.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from agentdeck.agents import AgentReply, runner_of
from agentdeck.domain.plans import InvalidPlan, TaskGraph, check_plan, parse_plan
from agentdeck.engine.context import RunContext
from agentdeck.workflows.plan.markdown import looks_like_markdown_plan, parse_markdown_plan

PLANNER_ATTEMPTS = 2
_TASK_KEYS = {
    "id",
    "title",
    "description",
    "role",
    "prerequisites",
    "depends_on",
    "dependencies",
    "subtasks",
    "confidence",
    "agent",
    "assignee",
    "max_attempts",
    "estimate_hours",
    "phase",
}


class PlanFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    MARKDOWN = "markdown"
    TEXT = "text"


def format_of(plan: dict[str, Any] | list[Any] | str, declared: PlanFormat | str) -> PlanFormat:
    """The form a plan is in: as declared, or (auto) by its look."""
    declared = PlanFormat(declared)
    if not isinstance(plan, str):
        if declared in (PlanFormat.MARKDOWN, PlanFormat.TEXT):
            raise InvalidPlan([f"a {declared} plan must be a string, not JSON"])
        return PlanFormat.JSON
    if declared != PlanFormat.AUTO:
        return declared
    text = plan.strip()
    if text.startswith(("{", "[")):
        return PlanFormat.JSON
    if looks_like_markdown_plan(text):
        return PlanFormat.MARKDOWN
    return PlanFormat.TEXT


def read_plan(
    plan: dict[str, Any] | list[Any] | str, declared: PlanFormat | str = PlanFormat.AUTO
) -> TaskGraph | None:
    """The checked graph of a JSON or markdown plan; None for free text (a planner reads it)."""
    form = format_of(plan, declared)
    if form == PlanFormat.TEXT:
        if not isinstance(plan, str) or not plan.strip():
            raise InvalidPlan(["the plan is empty: describe the goal, or give tasks"])
        return None
    if form == PlanFormat.MARKDOWN:
        assert isinstance(plan, str)
        return check_plan(parse_plan(parse_markdown_plan(plan)))
    if isinstance(plan, str):
        try:
            plan = json.loads(plan)
        except ValueError as error:
            raise InvalidPlan([f"the plan is not valid JSON: {error}"]) from None
    return check_plan(parse_plan(plan))


async def decompose(ctx: RunContext, goal: str, planner: str) -> TaskGraph:
    """Ask `planner` to break `goal` into tasks (journaled as steps `llm:plan:N`)."""
    problems: list[str] = []
    for n in range(1, PLANNER_ATTEMPTS + 1):
        reply = await runner_of(ctx).run(ctx, planner, _prompt(goal, problems), key=f"plan:{n}")
        try:
            return check_plan(parse_plan(planner_json(reply)))
        except InvalidPlan as error:
            problems = error.problems
        replayed = ctx.is_replayed(f"llm:plan:{n + 1}")
        if not replayed:
            ctx.emit(
                "plan.invalid",
                f"the planner's plan (attempt {n}) was refused: {'; '.join(problems)}",
                attempt=n,
                problems=problems,
            )
    raise InvalidPlan(
        [f"the planner {planner!r} gave no valid plan in {PLANNER_ATTEMPTS} attempts", *problems]
    )


def planner_json(reply: AgentReply) -> Any:
    """The planner's answer as plan JSON, keeping only the fields a task has."""
    try:
        data = reply.json()
    except ValueError as error:
        raise InvalidPlan([str(error)]) from None
    if isinstance(data, list):
        data = {"tasks": data}
    if not isinstance(data, dict):
        raise InvalidPlan(["the planner's answer is not a JSON object with `tasks`"])
    tasks = data.get("tasks")
    if isinstance(tasks, list):
        data = {**data, "tasks": [_clean_task(t) for t in tasks]}
    return data


def _clean_task(task: Any) -> Any:
    """Drop fields a model invented; ids and prerequisites as strings; roles in lower case."""
    if not isinstance(task, dict):
        return task
    out = {k: v for k, v in task.items() if k in _TASK_KEYS}
    if isinstance(out.get("id"), int | float):
        out["id"] = str(out["id"])
    for key in ("prerequisites", "depends_on", "dependencies"):
        value = out.get(key)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            out[key] = [str(v) for v in value]
    if isinstance(out.get("role"), str):
        out["role"] = out["role"].strip().lower().replace(" ", "-") or None
    if isinstance(out.get("subtasks"), list):
        out["subtasks"] = [_clean_task(s) for s in out["subtasks"]]
    return out


def _prompt(goal: str, problems: list[str]) -> str:
    # No list items in this text: the offline simulator makes a task of every one it sees.
    text = (
        f"## Goal\n\n{goal.strip()}\n\n"
        "## What to do\n\n"
        "Break the goal into tasks that agents can carry out, with prerequisites between "
        "them and subtasks where a task has parts. Give each task a confidence from 0 to 1 "
        "that an agent can do it without a person. Answer with the plan as JSON only."
    )
    if problems:
        text += (
            "\n\n## Your previous plan was refused\n\n"
            + " ".join(problems)
            + "\n\nFix these problems and answer again with the whole plan."
        )
    return text
