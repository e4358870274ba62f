"""The start form's plan preview: which form the plan was read in, and the tasks it makes.

It reads the plan with `deck.tasks.check_plan` — what `POST /api/plans/check` and a
submitted run use — so what the preview accepts, the run accepts. live.js asks for it
(`POST /runs/new/preview`) while a person types; without JavaScript the form's "Preview
tasks" button shows the same on the form's page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.web.pages.schema_form import FormField, text_or_json

LABELS = {"json": "JSON", "markdown": "structured markdown", "text": "free text"}
PROMPT = (
    "Write a plan: JSON, markdown whose headings or list items start with task ids, or free text."
)


@dataclass(frozen=True)
class PreviewTask:
    """One task as the run would create it."""

    id: str
    title: str
    role: str
    prerequisites: tuple[str, ...]
    depth: int


@dataclass(frozen=True)
class PlanPreview:
    """What the form's plan field holds, as the run would read it."""

    detected: str | None  # JSON, structured markdown, free text; None when empty
    note: str
    title: str | None = None
    tasks: list[PreviewTask] = field(default_factory=list)
    error: str | None = None


def plan_field(fields: list[FormField]) -> FormField | None:
    """The form's plan field (`x-agentdeck-kind: plan`), if the workflow takes a plan."""
    return next((f for f in fields if f.kind == "plan"), None)


def preview_of(deck: Deck, fields: list[FormField]) -> PlanPreview | None:
    """The preview of the form's plan field; None when the workflow takes no plan."""
    found = plan_field(fields)
    if found is None:
        return None
    text = found.value.strip()
    if not text:
        return PlanPreview(None, PROMPT)
    values = {f.key: f.value.strip() for f in fields}
    declared = values.get("format") or "auto"
    plan = text_or_json(text)
    try:
        form, graph = deck.tasks.check_plan(plan, declared)
    except InvalidInput as error:
        guess = "json" if not isinstance(plan, str) or text.startswith(("{", "[")) else "markdown"
        detected = LABELS.get(declared if declared in LABELS else guess)
        return PlanPreview(detected, "The run would refuse this plan.", error=str(error))
    detected = LABELS[form.value]
    if graph is None:
        planner = values.get("planner") or "planner"
        note = (
            f"The planner agent “{planner}” breaks it into tasks when the run starts; they "
            "appear on the run's execution page."
        )
        return PlanPreview(detected, note)
    tasks = [
        PreviewTask(n.key, n.title, n.role, n.prerequisites, n.depth)
        for n in sorted(graph.nodes.values(), key=lambda n: n.position)
    ]
    layers = 1 + max(graph.layers().values())
    note = (
        f"{len(tasks)} tasks, {len(graph.leaves)} to run, in {layers} "
        f"wave{'s' if layers != 1 else ''} of parallel work."
    )
    return PlanPreview(detected, note, graph.plan.title, tasks)
