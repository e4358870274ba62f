"""What the offline simulator answers for each role, in the formats the workflows parse.

Every answer is a pure function of (role, prompt): the same input gives the same text.
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
from collections.abc import Callable, Iterator

from agentdeck.llm import simulated_build
from agentdeck.llm.simulated_stack import STACK_ROLES
from agentdeck.llm.simulated_stack import answer as stack_answer

NOTE = "Written by the agentdeck offline simulator: no model provider is configured."
MARKER = "<!-- agentdeck:simulator attempt={n} -->"
_MARKER = re.compile(r"<!-- agentdeck:simulator attempt=(\d+) -->")
_ATTEMPT_WORD = re.compile(r"\battempt\s*(?:#|no\.?|number|=|:)?\s*(\d+)", re.IGNORECASE)
_SCORES = (0.55, 0.84, 0.93, 0.96)
_TITLE_KEYS = ("title", "topic", "task", "goal", "idea", "request", "brief", "subject")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.+?)\s*$", re.MULTILINE)
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
    data = _json_object(prompt)
    for key in _TITLE_KEYS:
        value = data.get(key) if data else None
        if isinstance(value, str) and value.strip():
            return _clip(value.strip(), 80)
    for line in prompt.splitlines():
        line = line.strip(" #*-\t")
        if line and not line.startswith(("<!--", "{", "[")):
            return _clip(line, 80)
    return "Untitled"


# --- documents -------------------------------------------------------------


def _producer(prompt: str, d: bytes) -> str:
    title = title_of(prompt)
    return "\n".join(
        [
            MARKER.format(n=1),
            f"# {title}",
            "",
            f"_{NOTE}_",
            "",
            "## Summary",
            "",
            f"A first draft for **{title}**, built from the inputs below.",
            "",
            "## Inputs considered",
            "",
            *_input_bullets(prompt),
            "",
            "## Draft",
            "",
            _paragraph(prompt, d),
            "",
            "## Open questions",
            "",
            "- Which audience should the final version address first?",
            "- Which examples would make the argument concrete?",
        ]
    )


def _reviser(prompt: str, d: bytes) -> str:
    previous = attempt_of(prompt) or 1
    draft = _MARKER.sub("", _section_with_marker(prompt)).strip()
    feedback = _feedback_points(prompt)
    return "\n".join(
        [
            MARKER.format(n=previous + 1),
            draft or f"# {title_of(prompt)}",
            "",
            f"## Revision {previous + 1}",
            "",
            f"_{NOTE}_",
            "",
            "Changes made in response to the evaluation:",
            "",
            *[f"- Addressed: {point}" for point in feedback],
            "",
            _paragraph(prompt, d[8:]),
        ]
    )


def _executor(prompt: str, d: bytes) -> str:
    title = title_of(prompt)
    return "\n".join(
        [
            f"# Result: {title}",
            "",
            f"_{NOTE}_",
            "",
            "## What was done",
            "",
            *_input_bullets(prompt),
            "",
            "## Outcome",
            "",
            _paragraph(prompt, d),
        ]
    )


# --- structured answers ----------------------------------------------------


def _evaluator(prompt: str, d: bytes) -> str:
    attempt = attempt_of(prompt) or 1
    score = round(_SCORES[min(attempt, len(_SCORES)) - 1] + d[0] / 255 * 0.02, 3)
    names = ("completeness", "clarity", "accuracy")
    criteria = {
        name: round(min(1.0, max(0.0, score + (d[i + 1] / 255 - 0.5) * 0.08)), 3)
        for i, name in enumerate(names)
    }
    advice = [
        "add concrete examples for each claim",
        "tighten the summary to two sentences",
        "cover the edge cases named in the inputs",
        "state the assumptions explicitly",
    ]
    todo = advice[attempt - 1 :] if attempt <= len(advice) else []
    feedback = f"Attempt {attempt} scores {score:.2f} (offline simulator). " + (
        "Improve: " + "; ".join(todo) + "." if todo else "No further changes needed."
    )
    return _json({"score": score, "feedback": feedback, "criteria": criteria, "simulated": True})


def _planner(prompt: str, d: bytes) -> str:
    title = title_of(prompt)
    items = [_clip(m, 100) for m in _LIST_ITEM.findall(prompt)][:8]
    if len(items) < 2:
        items = [f"{step} {title}" for step in ("Research", "Design", "Implement", "Test")]
        items.append(f"Document and review {title}")
    n = len(items)
    tasks = []
    for i, item in enumerate(items, start=1):
        if i == 1:
            prerequisites: list[str] = []
        elif i < n or n == 2:
            prerequisites = ["T1"]
        else:
            prerequisites = [f"T{j}" for j in range(2, n)]
        tasks.append(
            {
                "id": f"T{i}",
                "title": item,
                "description": f"{item}. Part of: {title}.",
                "role": _role_for(item),
                "prerequisites": prerequisites,
                "subtasks": [
                    {"id": f"T{i}.1", "title": f"Prepare: {item}"},
                    {"id": f"T{i}.2", "title": f"Complete and check: {item}"},
                ],
                "confidence": round(0.7 + d[i % len(d)] / 255 * 0.25, 2),
                "estimate_hours": 1 + d[(i + 7) % len(d)] % 4,
                "phase": f"P{(i + 1) // 2}",
            }
        )
    phases = []
    for p in range((n + 1) // 2):
        members = [t for t in tasks if t["phase"] == f"P{p + 1}"]
        hours = sum(int(t["estimate_hours"]) for t in members)  # type: ignore[call-overload]
        phases.append(
            {
                "id": f"P{p + 1}",
                "title": str(members[0]["title"]),
                "tasks": [t["id"] for t in members],
                "estimate_hours": hours,
                "estimated_cost_usd": round(hours * 0.25, 2),
            }
        )
    summary = f"{n} tasks in {len(phases)} phases for: {title} (offline simulator plan)."
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


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _json_objects(prompt: str) -> Iterator[dict[str, object]]:
    """Every JSON object embedded in the prompt, in order."""
    decoder = json.JSONDecoder()
    start = prompt.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(prompt, start)
        except ValueError:
            start = prompt.find("{", start + 1)
            continue
        if isinstance(value, dict):
            yield value
        start = prompt.find("{", end)


def _json_object(prompt: str) -> dict[str, object] | None:
    return next(_json_objects(prompt), None)


def _input_bullets(prompt: str) -> list[str]:
    data = _json_object(prompt)
    if data:
        return [
            f"- **{k}**: {_clip(json.dumps(v) if not isinstance(v, str) else v, 120)}"
            for k, v in data.items()
        ][:12]
    lines = [ln.strip() for ln in prompt.splitlines() if ln.strip() and not ln.startswith("<!--")]
    return [f"- {_clip(ln, 120)}" for ln in lines[:8]] or ["- (no inputs given)"]


def _paragraph(prompt: str, d: bytes) -> str:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", prompt)][:40] or ["topic"]
    openers = ("In short,", "Put simply,", "At its core,", "Taken together,")
    picked = [words[b % len(words)] for b in d[:6]]
    return (
        f"{openers[d[0] % len(openers)]} this draft connects {', '.join(picked[:3])} "
        f"with {', '.join(picked[3:])}, and argues for a clear, testable plan."
    )


def _section_with_marker(prompt: str) -> str:
    """The newest draft in the prompt: the text after the last simulator marker, if any."""
    found = list(_MARKER.finditer(prompt))
    if not found:
        return ""
    body = prompt[found[-1].start() :]
    cut = re.search(r"\n(?:#+\s*)?(?:feedback|evaluation)\b", body, re.IGNORECASE)
    return body[: cut.start()] if cut else body


def _feedback_points(prompt: str) -> list[str]:
    text = next((str(o["feedback"]) for o in _json_objects(prompt) if "feedback" in o), "")
    if not text:
        m = re.search(r"feedback\s*:?\s*(.+)", prompt, re.IGNORECASE | re.DOTALL)
        text = m.group(1) if m else ""
    points = [p.strip(" .") for p in re.split(r"[;\n]|Improve:", text) if len(p.strip(" .")) > 3]
    return [_clip(p, 120) for p in points[:5]] or ["general polish"]


def _role_for(item: str) -> str:
    lowered = item.lower()
    if any(w in lowered for w in ("implement", "build", "code", "write", "add", "fix")):
        return "coder"
    if any(w in lowered for w in ("test", "review", "check", "verify", "audit")):
        return "reviewer"
    return "executor"
