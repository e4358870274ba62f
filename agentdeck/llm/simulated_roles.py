"""What the offline simulator answers for each role, in the formats the workflows parse.

Every answer is a pure function of (role, prompt): the same input gives the same text,
and it is written from what the prompt says (`simulated_text.read`): a draft on the
task's topic for its audience, a plan whose tasks follow from the goal
(`simulated_plans`), a task's result that names the task and what it built on.
Formats (real models are asked for the same ones by the shipped agents' instructions):

* producer, reviser, builder, executor and any other role: a markdown document. Drafts
  carry a marker `<!-- agentdeck:simulator attempt=N -->`; the reviser writes N+1.
* evaluator: JSON `{"score": 0..1, "feedback": str, "criteria": {name: 0..1}, "simulated": true}`.
  The score depends on the attempt read from the marker (or an "attempt N" in the
  prompt): 0.55, 0.84, 0.93, then 0.96, each plus a deterministic 0..0.02. So a loop with
  pass threshold 0.5 passes on attempt 1, 0.8 on attempt 2, 0.9 on attempt 3, and one
  with threshold 0.99 never passes.
* planner: JSON `{"title", "summary", "tasks": [{"id", "title", "description", "role",
  "prerequisites": [ids], "subtasks": [{"id", "title"}], "confidence", "estimate_hours",
  "phase"}], "phases": [{"id", "title", "tasks": [ids], "estimate_hours",
  "estimated_cost_usd"}], "simulated": true}`.
* coder: JSON `{"summary": str, "files": [{"path": str, "content": str}], "simulated": true}`
  — whole-file contents, not diffs.
* reviewer: JSON `{"summary", "approved": bool, "score", "findings": [{"id", "severity":
  "low"|"medium"|"high", "title", "detail", "path", "recommendation"}], "simulated": true}`.
* build-review, build-plan, build-code: see `simulated_build`.
* communicator: JSON `{"summary", "messages": [{"to", "subject", "body"}], "simulated": true}`.
* stack-planner, stack-builder, stack-communicator, stack-reviewer, stack-summarizer:
  the roles of a stack, answered by `simulated_stack`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from agentdeck.llm import simulated_build
from agentdeck.llm.simulated_plans import plan_tasks
from agentdeck.llm.simulated_stack import STACK_ROLES
from agentdeck.llm.simulated_stack import answer as stack_answer
from agentdeck.llm.simulated_text import (
    Reading,
    capitalised,
    clip,
    joined,
    json_objects,
    past_tense,
    pick,
    read,
)

NOTE = "Written by the agentdeck offline simulator: no model provider is configured."
MARKER = "<!-- agentdeck:simulator attempt={n} -->"
_MARKER = re.compile(r"<!-- agentdeck:simulator attempt=(\d+) -->")
_ATTEMPT_WORD = re.compile(r"\battempt\s*(?:#|no\.?|number|=|:)?\s*(\d+)", re.IGNORECASE)
_SCORES = (0.55, 0.84, 0.93, 0.96)
_PATH = re.compile(r"\b[\w.-]+(?:/[\w.-]+)*\.(?:py|ts|js|md|go|rs|java|sql|toml|yaml|json)\b")
_TODO_ID = re.compile(r"\b(?:todo|task)[\s#:_-]*([A-Za-z0-9][\w.-]*)", re.IGNORECASE)


def digest(*parts: str) -> bytes:
    """Stable across processes (unlike `hash()`), so answers are the same everywhere."""
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def answer(role: str, prompt: str) -> str:
    """The simulator's answer for `role` to `prompt`."""
    if role in STACK_ROLES:
        return stack_answer(role, prompt)
    build = simulated_build.ROLES.get(role)
    if build is not None:
        return build(prompt)
    return _ROLES.get(role, _executor)(prompt, digest(role, prompt))


def attempt_of(text: str) -> int | None:
    """The attempt a draft belongs to: its simulator marker, else an "attempt N" in the text."""
    marked = [int(n) for n in _MARKER.findall(text)]
    if marked:
        return max(marked)
    words = [int(n) for n in _ATTEMPT_WORD.findall(text)]
    return max(words) if words else None


def title_of(prompt: str) -> str:
    """What the prompt is about, as a title."""
    return capitalised(read(prompt).subject)


# --- documents -------------------------------------------------------------


def _producer(prompt: str, d: bytes) -> str:
    r = read(prompt)
    topic = r.subject
    readers = r.audience or "readers new to it"
    key_ideas = list(r.nouns[:4]) or [topic]
    return "\n".join(
        [
            MARKER.format(n=1),
            f"# {capitalised(topic)}",
            "",
            f"_{NOTE}_",
            "",
            "## Summary",
            "",
            f"This draft explains {topic} to {readers}: what it is, why it matters to "
            f"them, and how to take a first step with it.",
            "",
            f"## Why {topic} matters",
            "",
            _why(topic, readers, key_ideas, d),
            "",
            "## Key ideas",
            "",
            *[f"- **{capitalised(t)}**: {_idea(t, topic, d, i)}" for i, t in enumerate(key_ideas)],
            *_asked_for(r),
            "",
            "## A first step",
            "",
            f"1. Pick one small, real case where {topic} applies.",
            f"2. Try it with {joined(key_ideas[:2])} in mind, and note what changes.",
            "3. Share the result and decide what to try next.",
        ]
    )


def _why(topic: str, readers: str, ideas: list[str], d: bytes) -> str:
    lead = pick(
        (
            f"For {readers}, {topic} is worth understanding",
            f"Among {readers}, {topic} comes up again and again",
            f"To {readers}, {topic} is a practical concern",
        ),
        d,
        1,
    )
    return (
        f"{lead} because the choices made about {joined(ideas[:3])} decide whether it works. "
        f"Getting it right early saves rework later; getting it wrong shows up as "
        f"surprises that are hard to trace back to {topic}."
    )


def _idea(term: str, topic: str, d: bytes, i: int) -> str:
    return pick(
        (
            f"what it means in the context of {topic}, and where it shows up first.",
            f"how it changes the way {topic} is done, with one thing to watch for.",
            f"why it matters for {topic}, and the usual mistake to avoid.",
        ),
        d,
        i + 2,
    )


def _asked_for(r: Reading) -> list[str]:
    """The task's other fields (length, tone, constraints...), said as respected."""
    skip = {"topic", "title", "goal", "subject", "audience"}
    lines = [
        f"- *{k.replace('_', ' ')}*: {clip(v if isinstance(v, str) else json.dumps(v), 100)}"
        for k, v in r.fields.items()
        if k not in skip
    ][:6]
    return ["", "## As asked", "", *lines] if lines else []


def _reviser(prompt: str, d: bytes) -> str:
    r = read(prompt)
    previous = attempt_of(prompt) or 1
    draft = _MARKER.sub("", r.sections.get("draft") or _section_with_marker(prompt)).strip()
    points = _feedback_points(prompt)
    return "\n".join(
        [
            MARKER.format(n=previous + 1),
            draft or f"# {capitalised(r.subject)}",
            "",
            f"## Revision {previous + 1}",
            "",
            f"_{NOTE}_",
            "",
            "Changes made in response to the evaluation:",
            "",
            *[f"- Addressed: {point}" for point in points],
            "",
            *[line for point in points for line in _addition(point, r)],
        ]
    )


def _addition(point: str, r: Reading) -> list[str]:
    """The text a feedback point asks for, written for the draft's topic."""
    topic, readers = r.subject, r.audience or "a reader new to it"
    lowered = point.lower()
    if "example" in lowered:
        return [
            f"### An example of {topic}",
            "",
            f"Take {readers} meeting {topic} for the first time: they start from one "
            f"concrete case, see what it changes, and only then generalise.",
            "",
        ]
    if "summary" in lowered:
        return [
            "### The summary in two sentences",
            "",
            f"{capitalised(topic)} matters to {readers} because it decides how the work "
            "holds up. Start small, check the result, then widen.",
            "",
        ]
    if "edge" in lowered:
        return [
            "### Edge cases",
            "",
            f"- What happens to {topic} when the input is empty or unusually large.",
            f"- What happens when two people change the same part of {topic} at once.",
            "",
        ]
    if "assumption" in lowered:
        return [
            "### Assumptions",
            "",
            f"- The reader knows the basics around {topic} but not its details.",
            "- The advice applies to one team first; scaling it is a later step.",
            "",
        ]
    return [f"The draft now takes into account: {point}.", ""]


def _executor(prompt: str, d: bytes) -> str:
    r = read(prompt)
    title = capitalised(str(r.fields.get("title") or r.subject))
    plan = r.fields.get("plan") or r.fields.get("part_of")
    description = r.fields.get("description")
    earlier = re.findall(
        r"^### ([^\n]+)$", r.sections.get("results of its prerequisites", ""), re.M
    )
    note = r.sections.get("a person's note for this attempt")
    done = past_tense(title)
    lines = [f"# {title}", "", f"_{NOTE}_", "", "## What was done", ""]
    lines.append(f"{done}" + (f", as part of “{plan}”." if plan else "."))
    if isinstance(description, str) and description:
        lines.append(f"The task asked: {clip(description, 300)}")
    if earlier:
        lines += ["", f"It builds on {joined([clip(e, 80) for e in earlier])}."]
    if note:
        lines += ["", f"Following the note given for this attempt: {clip(note, 300)}"]
    lines += ["", "## Outcome", ""]
    lines.append(f"- {done}: ready for the tasks that depend on it.")
    lines.append(
        pick(
            (
                "- Nothing is blocking; the next task can start.",
                "- Open point: confirm the result with the person who asked for it.",
            ),
            d,
        )
    )
    return "\n".join(lines)


# --- structured answers ----------------------------------------------------


def _evaluator(prompt: str, d: bytes) -> str:
    r = read(prompt)
    topic, readers = r.subject, r.audience or "its readers"
    attempt = attempt_of(prompt) or 1
    score = round(_SCORES[min(attempt, len(_SCORES)) - 1] + d[0] / 255 * 0.02, 3)
    names = ("completeness", "clarity", "accuracy")
    criteria = {
        name: round(min(1.0, max(0.0, score + (d[i + 1] / 255 - 0.5) * 0.08)), 3)
        for i, name in enumerate(names)
    }
    advice = [
        f"add concrete examples of {topic} for {readers}",
        f"tighten the summary of {topic} to two sentences",
        f"cover the edge cases of {topic}",
        f"state the assumptions behind the advice on {topic}",
    ]
    todo = advice[attempt - 1 :] if attempt <= len(advice) else []
    verdict = (
        f"The draft on {topic} (attempt {attempt}) scores {score:.2f} in the offline simulator. "
    )
    feedback = verdict + (
        "Improve: " + "; ".join(todo) + "." if todo else "No further changes needed."
    )
    return _json({"score": score, "feedback": feedback, "criteria": criteria, "simulated": True})


def _planner(prompt: str, d: bytes) -> str:
    r = read(prompt)
    goal = r.sections.get("goal") or prompt
    title, tasks = plan_tasks(goal)
    for i, task in enumerate(tasks, start=1):
        task["confidence"] = round(0.7 + d[i % len(d)] / 255 * 0.25, 2)
        task["estimate_hours"] = 1 + d[(i + 7) % len(d)] % 4
    phases: list[dict[str, object]] = []
    for name in dict.fromkeys(str(t["phase"]) for t in tasks):
        members = [t for t in tasks if t["phase"] == name]
        hours = sum(int(str(t["estimate_hours"])) for t in members)
        phases.append(
            {
                "id": f"P{len(phases) + 1}",
                "title": name,
                "tasks": [t["id"] for t in members],
                "estimate_hours": hours,
                "estimated_cost_usd": round(hours * 0.25, 2),
            }
        )
    summary = (
        f"{len(tasks)} tasks in {len(phases)} phases ({joined([str(p['title']) for p in phases])}) "
        f"for: {title}. Planned by the offline simulator."
    )
    return _json(
        {"title": title, "summary": summary, "tasks": tasks, "phases": phases, "simulated": True}
    )


def _coder(prompt: str, d: bytes) -> str:
    title = title_of(prompt)
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40] or "change"
    module = (
        f'"""{title} (written by the agentdeck offline simulator)."""\n\n\n'
        f"def {slug}() -> str:\n"
        f'    """Return what this change is about."""\n'
        f"    return {title!r}\n"
    )
    test = (
        '"""Tests written by the agentdeck offline simulator."""\n\n'
        "import importlib.util\n"
        "from pathlib import Path\n\n"
        f'_PATH = Path(__file__).resolve().parents[1] / "{slug}.py"\n'
        f'_SPEC = importlib.util.spec_from_file_location("{slug}", _PATH)\n'
        "_MODULE = importlib.util.module_from_spec(_SPEC)\n"
        "_SPEC.loader.exec_module(_MODULE)\n\n\n"
        f"def test_{slug}_names_the_change() -> None:\n"
        f"    assert _MODULE.{slug}() == {title!r}\n"
    )
    files = [
        {"path": f"{slug}.py", "content": module},
        {"path": f"tests/test_{slug}.py", "content": test},
    ]
    summary = f"Added {slug}.py and its test for: {title} (offline simulator)."
    return _json({"summary": summary, "files": files, "simulated": True})


def _reviewer(prompt: str, d: bytes) -> str:
    paths = sorted(set(_PATH.findall(prompt)))[:5] or ["(whole change)"]
    severities = ("low", "medium", "low", "medium", "high")
    topics = [
        ("Missing tests for an edge case", "Add a test for empty and oversized inputs."),
        ("Error messages could name the field", "Say which field failed and why."),
        ("A function does two things", "Split it so each part has one reason to change."),
        ("Unvalidated input reaches a query", "Validate and bind parameters."),
    ]
    findings = []
    for i, path in enumerate(paths):
        topic, fix = topics[d[i] % len(topics)]
        findings.append(
            {
                "id": f"F{i + 1}",
                "severity": severities[d[i + 5] % len(severities)],
                "title": topic,
                "detail": f"{topic} in {path} (offline simulator review).",
                "path": path,
                "recommendation": fix,
            }
        )
    approved = not any(f["severity"] == "high" for f in findings)
    score = round(0.9 - 0.1 * sum(f["severity"] != "low" for f in findings) / len(findings), 2)
    summary = f"{len(findings)} finding(s); {'approved' if approved else 'changes requested'}."
    return _json(
        {
            "summary": summary,
            "approved": approved,
            "score": score,
            "findings": findings,
            "simulated": True,
        }
    )


def _communicator(prompt: str, d: bytes) -> str:
    title = title_of(prompt)
    todos = sorted(set(_TODO_ID.findall(prompt)))[:5]
    body = f"Status of {title}: " + (
        f"work continues on {', '.join(todos)}." if todos else "no open items reported."
    )
    message = {"to": "team", "subject": f"Update: {title}", "body": body}
    return _json({"summary": body, "messages": [message], "simulated": True})


def _builder(prompt: str, d: bytes) -> str:
    return _executor(prompt, d)


_ROLES: dict[str, Callable[[str, bytes], str]] = {
    "producer": _producer,
    "evaluator": _evaluator,
    "reviser": _reviser,
    "planner": _planner,
    "coder": _coder,
    "reviewer": _reviewer,
    "communicator": _communicator,
    "builder": _builder,
    "executor": _executor,
}


# --- small pieces -------------------------------------------------------------


def _json(value: object) -> str:
    return json.dumps(value, indent=2)


def _section_with_marker(prompt: str) -> str:
    """The newest draft in the prompt: the text after the last simulator marker, if any."""
    found = list(_MARKER.finditer(prompt))
    if not found:
        return ""
    body = prompt[found[-1].start() :]
    cut = re.search(r"\n(?:#+\s*)?(?:feedback|evaluation)\b", body, re.IGNORECASE)
    return body[: cut.start()] if cut else body


def _feedback_points(prompt: str) -> list[str]:
    text = next((str(o["feedback"]) for o in json_objects(prompt) if "feedback" in o), "")
    if not text:
        m = re.search(r"feedback\s*:?\s*(.+)", prompt, re.IGNORECASE | re.DOTALL)
        text = m.group(1) if m else ""
    text = text.split("Improve:", 1)[1] if "Improve:" in text else text
    points = [p.strip(" .") for p in re.split(r"[;\n]", text) if len(p.strip(" .")) > 3]
    return [clip(p, 120) for p in points[:5]] or ["general polish"]
