"""What the offline simulator answers for the roles of a stack, in the formats of
workflows/stack/outputs.py, read from the JSON context in the prompt.

The answers follow the stack's idea so a stack's work visibly progresses: the planner
invents an idea when there is none, then writes todos in rounds (three rounds, then it
says the project needs nothing more); the builder hands in an artifact for its todo; the
reviewer names what it reviewed and recommends; the communicator replies and, when
asked for the periodic broadcast, broadcasts a status. Pure functions of the prompt.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

IDEAS = (
    "A recipe planner that turns a week's groceries into dinners",
    "A tool library where neighbours lend and borrow tools",
    "A study timer that plans revision around exam dates",
    "A bird-song journal that logs sightings by sound",
    "A repair café booking site for a small town",
    "A plant-watering reminder that learns each plant's thirst",
)
ROUNDS = (
    ("Write the product brief", "Sketch the main screens", "Define the data model"),
    ("Build the first working flow", "Write the onboarding text", "Add input validation"),
    ("Write the launch checklist", "Polish the empty states", "Document how to run it"),
)
PRIORITIES = ("high", "medium", "low")


def _context(prompt: str) -> dict[str, Any]:
    """The JSON object after "Context:" (the formats before it are not JSON)."""
    marker = prompt.find("Context:")
    start = prompt.find("{", marker if marker != -1 else 0)
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(prompt, start)
        except ValueError:
            start = prompt.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = prompt.find("{", start + 1)
    return {}


def _pick(options: tuple[str, ...], *seed: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, seed)).encode()).digest()
    return options[digest[0] % len(options)]


def _planner(ctx: dict[str, Any]) -> dict[str, Any]:
    idea = ctx.get("idea")
    invented = None
    if not idea:
        invented = idea = _pick(IDEAS, ctx.get("stack", ""))
    todos: list[dict[str, str]] = []
    done = ctx.get("done") or []
    open_todos = ctx.get("todos") or []
    round_no = len(done) // len(ROUNDS[0])
    if not open_todos and round_no < len(ROUNDS):
        todos = [
            {
                "title": f"{title} for {idea.split(' that ')[0].split(' where ')[0].lower()}",
                "priority": PRIORITIES[i],
                "detail": f"Part of round {round_no + 1} of {idea}.",
            }
            for i, title in enumerate(ROUNDS[round_no])
        ]
    recs = [m for m in ctx.get("messages") or [] if m.get("kind") == "recommendation"]
    summary = (
        f"Idea: {idea}. "
        + (f"Planned round {round_no + 1}: {len(todos)} todos. " if todos else "No new todos. ")
        + (f"Read {len(recs)} recommendations." if recs else "")
    )
    return {"idea": invented, "todos": todos, "reprioritise": {}, "summary": summary.strip()}


def _builder(ctx: dict[str, Any]) -> dict[str, Any]:
    todo = ctx.get("todo") or {}
    title = todo.get("title", "the next step")
    idea = ctx.get("idea") or "the project"
    slug = "-".join("".join(c for c in title.lower() if c.isalnum() or c == " ").split())[:60]
    content = "\n".join(
        [
            f"# {title}",
            "",
            f"Project: {idea}.",
            "",
            f"- What: {todo.get('detail') or title}.",
            f"- Done in cycle {ctx.get('cycle')}, priority {todo.get('priority', 'medium')}.",
            "- Next: hand it to the reviewer.",
            "",
            "<!-- written by the agentdeck offline simulator -->",
        ]
    )
    return {
        "artifact": {"name": f"{slug or 'result'}.md", "content": content},
        "done": True,
        "summary": f"Built: {title}",
    }


def _reviewer(ctx: dict[str, Any]) -> dict[str, Any]:
    completed = ctx.get("completed") or []
    artifacts = ctx.get("artifacts") or []
    names = [a["name"] for a in artifacts][:3]
    recs = []
    if completed:
        titles = ", ".join(t["title"] for t in completed[:3])
        recs.append(
            f"Reviewed {titles}" + (f" ({', '.join(names)})" if names else "") + ": "
            "keep the next todos as small."
        )
    summary = (
        f"Reviewed {len(completed)} todos and {len(artifacts)} artifacts"
        + (f": {', '.join(names)}" if names else "")
        + "."
    )
    return {"recommendations": recs, "summary": summary}


def _communicator(ctx: dict[str, Any]) -> dict[str, Any]:
    messages = ctx.get("messages") or []
    broadcasts = ctx.get("broadcasts") or []
    idea = ctx.get("idea") or "our project"
    out: list[dict[str, str]] = []
    if messages:
        done = [m["body"] for m in messages][:3]
        out.append({"to": "planner", "body": f"Team news on {idea}: " + "; ".join(done)})
    broadcast = None
    if ctx.get("periodic"):
        open_todos = len(ctx.get("todos") or [])
        broadcast = f"{ctx.get('stack', 'A stack')} works on {idea}: {open_todos} todos open."
    summary = f"Read {len(messages)} messages and {len(broadcasts)} broadcasts" + (
        "; broadcast a status." if broadcast else "."
    )
    return {"messages": out, "broadcast": broadcast, "summary": summary}


def _summarizer(prompt: str) -> str:
    """The newest entries that fit the length the prompt asks for."""
    asked = re.search(r"at most (\d+) characters", prompt)
    limit = int(asked.group(1)) if asked else 500
    entries = prompt.split("Memory:", 1)[-1].strip().splitlines()
    head = f"Summary of {len(entries)} entries; latest: "
    kept: list[str] = []
    for entry in reversed(entries):
        if len(head) + len(" | ".join([entry, *kept])) > limit:
            break
        kept.insert(0, entry)
    return head + " | ".join(kept)


_ROLES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "stack-planner": _planner,
    "stack-builder": _builder,
    "stack-communicator": _communicator,
    "stack-reviewer": _reviewer,
}


def answer(role: str, prompt: str) -> str:
    """The answer for one of the stack roles (`STACK_ROLES`)."""
    if role == "stack-summarizer":
        return _summarizer(prompt)
    out = _ROLES[role](_context(prompt))
    return json.dumps({**out, "simulated": True}, indent=1)


STACK_ROLES = (*_ROLES, "stack-summarizer")
