"""The prompts of a build: review, plan and code. Sections are `## ` headings, JSON on one line."""

from __future__ import annotations

import json
from typing import Any

PLAN_FORMAT = (
    '{"title": str, "summary": str, "phases": [{"id": "P1", "title": str, "tasks": '
    '[{"id": "1.1", "title": str, "description": str, "role": <one of the roles>, '
    '"kind": "simple-crud"|"auth-security"|"complex-logic", "estimate_hours": number, '
    '"estimate_tokens": integer, "files": [paths relative to the repository root]}]}]}'
)
CODE_FORMAT = (
    '{"summary": str, "files": [{"path": <relative to the repository root>, '
    '"content": <the whole new content of the file>}]}'
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def review_prompt(request: str, facts: dict[str, Any]) -> str:
    return (
        f"## Request\n\n{request}\n\n"
        f"## Analysis\n\n{_json(facts)}\n\n"
        "## What to do\n\n"
        "Review this repository for the request: its structure, its patterns (base classes "
        "and their subclasses, where tests live) and what the request will touch. Answer in "
        "markdown with the sections Findings and Approach."
    )


def plan_prompt(
    request: str, facts: dict[str, Any], review: str, roles: list[str], feedback: str | None
) -> str:
    parts = [
        f"## Request\n\n{request}",
        f"## Analysis\n\n{_json(facts)}",
        f"## Roles\n\n{', '.join(roles)}",
    ]
    if feedback:
        parts.append(f"## Feedback on the previous plan\n\n{' '.join(feedback.split())}")
    parts.append(
        "## What to do\n\n"
        "Write a phased plan for the request. Each phase is reviewed and committed on its "
        "own; each task names the role that does it, its kind, and an estimate. Answer with "
        f"JSON only, no code fence:\n{PLAN_FORMAT}"
    )
    parts.append(f"## Review\n\n{review}")
    return "\n\n".join(parts)


def code_prompt(
    task: dict[str, Any],
    facts: dict[str, Any],
    files: dict[str, str],
    comment: str | None,
    diff: str | None,
) -> str:
    parts = [f"## Task\n\n{_json(task)}", f"## Repository\n\n{_json(facts)}"]
    if comment:
        parts.append(f"## Requested changes\n\n{' '.join(comment.split())}")
    parts.append(
        "## What to do\n\n"
        "Carry out the task in this repository, following its patterns, and write a test for "
        "what you add. Answer with JSON only, no code fence, whole files (not diffs):\n"
        f"{CODE_FORMAT}"
    )
    if diff:
        parts.append(f"## Changes so far\n\n{diff}")
    listing = "\n\n".join(f"### {path}\n\n```\n{text}\n```" for path, text in files.items())
    parts.append(f"## Files\n\n{listing or '(none yet)'}")
    return "\n\n".join(parts)
