"""Plans written as markdown: headings and list items that start with a task id.

    # Launch the website
    A short summary of the plan.

    ## T1: Research competitors
    Role: executor
    Collect what the three closest competitors offer.
    - T1.1: List the competitors
    - T1.2: Compare their prices (depends on T1.1)

    ## T2: Design the landing page (depends on T1)
    Confidence: 0.4

A task is a heading or a list item whose text starts with its id: `T1: title`,
`T1 - title`, `[T1] title`, `**T1** title` or `` `T1` title ``. A bare id needs a digit
(`Note: ...` is not a task). Headings and list items nested under a task are its
subtasks. `(depends on T1, T2)` in the title, or a `Depends on: T1, T2` line, names
the prerequisites; `Role:`, `Confidence:`, `Agent:`, `Assignee:` and `Attempts:` lines
set those fields; any other line is the task's description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agentdeck.domain.plans import InvalidPlan

_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}"
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_CHECKBOX = re.compile(r"^\[[ xX]\]\s+")
# (form, whether its id needs a digit): a bare or bold word is more often prose than an id
_TASK_FORMS = (
    (
        re.compile(
            rf"^\*\*\s*(?P<id>{_ID}?)\s*[:.]?\s*\*\*\s*[:.\-\u2013\u2014]?\s*(?P<title>.+)$"
        ),
        True,
    ),
    (re.compile(rf"^\[(?P<id>{_ID})\](?!\()\s*[:.\-\u2013\u2014]?\s*(?P<title>.+)$"), False),
    (re.compile(rf"^`(?P<id>{_ID})`\s*[:.\-\u2013\u2014]?\s*(?P<title>.+)$"), False),
    (re.compile(rf"^(?P<id>{_ID})\s*(?::|\s[-\u2013\u2014])\s*(?P<title>.+)$"), True),
)
_DEPENDS = re.compile(
    r"[\s,;]*[(\[]?\s*(?:depends\s+on|prerequisites?|prereqs?)\s*:?\s+"
    r"(?P<ids>[^()\[\]]*?)\s*[)\]]?\s*$",
    re.IGNORECASE,
)
_FIELD = re.compile(
    r"^(?:[-*+]\s+)?\**(?P<name>role|confidence|agent|assignee|attempts|max attempts|"
    r"depends on|prerequisites|prereqs)\**\s*:\**\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_NONE = {"", "none", "nothing", "-", "\u2014", "\u2013", "n/a", "na", "no"}
LIST_LEVEL = 10  # list items nest under any heading


@dataclass
class _Task:
    data: dict[str, Any]
    level: int
    lines: list[str] = field(default_factory=list)


def looks_like_markdown_plan(text: str) -> bool:
    """True when some heading or list item starts with a task id."""
    return any(_task_line(line) is not None for line in text.splitlines())


def _task_line(line: str) -> tuple[int, str, str] | None:
    """(level, id, title) of a line that is a task, else None."""
    heading = _HEADING.match(line)
    if heading:
        level, text = len(heading.group(1)), heading.group(2)
    else:
        item = _ITEM.match(line.expandtabs(4))
        if not item:
            return None
        level, text = LIST_LEVEL + len(item.group(1)), _CHECKBOX.sub("", item.group(2))
    for form, needs_digit in _TASK_FORMS:
        found = form.match(text.strip())
        if found and found.group("id"):
            task_id = found.group("id")
            if needs_digit and not any(c.isdigit() for c in task_id):
                continue
            return level, task_id, found.group("title").strip()
    return None


def parse_markdown_plan(text: str) -> dict[str, Any]:
    """The plan JSON a markdown plan describes (checked afterwards like any JSON plan)."""
    title: str | None = None
    summary: list[str] = []
    roots: list[dict[str, Any]] = []
    stack: list[_Task] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        found = _task_line(line)
        if found is not None:
            level, task_id, task_title = found
            while stack and stack[-1].level >= level:
                _close(stack.pop())
            task = _Task(_new_task(task_id, task_title), level)
            (stack[-1].data["subtasks"] if stack else roots).append(task.data)
            stack.append(task)
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            while stack and stack[-1].level >= level:
                _close(stack.pop())
            if not stack and title is None and not roots and level == 1:
                title = heading.group(2).strip()
            elif stack:
                stack[-1].lines.append(line)
            continue
        if stack:
            _field_or_text(stack[-1], line)
        elif not roots and line.strip():
            summary.append(line.strip())
    while stack:
        _close(stack.pop())
    if not roots:
        raise InvalidPlan(
            [
                "no tasks found in the markdown: start each task's heading or list item with "
                "its id, e.g. `## T1: Research` or `- T2: Design (depends on T1)`"
            ]
        )
    plan: dict[str, Any] = {"tasks": roots, "summary": " ".join(summary)[:20_000]}
    if title:
        plan["title"] = title[:300]
    return plan


def _new_task(task_id: str, title: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id": task_id, "subtasks": [], "prerequisites": []}
    depends = _DEPENDS.search(title)
    if depends and depends.start() > 0:
        data["prerequisites"] = _ids(depends.group("ids"))
        title = title[: depends.start()].strip(" -\u2013\u2014,;")
    data["title"] = title.strip("* ")[:300] or task_id
    return data


def _field_or_text(task: _Task, line: str) -> None:
    found = _FIELD.match(line.strip())
    if not found:
        task.lines.append(line)
        return
    name, value = found.group("name").lower(), found.group("value").strip().strip("*` ")
    data = task.data
    if name in ("depends on", "prerequisites", "prereqs"):
        data["prerequisites"] = [*data["prerequisites"], *_ids(value)]
    elif name == "role":
        data["role"] = value.lower()
    elif name == "confidence":
        data["confidence"] = _number(value, "confidence", data["id"])
    elif name in ("attempts", "max attempts"):
        data["max_attempts"] = int(_number(value, "attempts", data["id"]))
    else:
        data[name] = value


def _close(task: _Task) -> None:
    text = "\n".join(task.lines).strip()
    if text:
        task.data["description"] = text[:20_000]


def _ids(text: str) -> list[str]:
    tokens = re.split(r"[,\s]+|\band\b", text)
    ids = [t.strip("`*[]().;:") for t in tokens]
    return [t for t in ids if t.lower() not in _NONE]


def _number(value: str, what: str, task_id: str) -> float:
    try:
        return float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise InvalidPlan([f"task {task_id}: {what} must be a number, not {value!r}"]) from None
