"""Each role's structured answer, read into the normalised shape the board applies.

planner       {"idea": str | null, "todos": [{"title", "priority", "detail"}],
               "reprioritise": {todo id: priority}, "summary"}
builder       {"artifact": {"name", "content"} | null, "done": bool, "summary"}
communicator  {"messages": [{"to": role, "body"}], "broadcast": str | null, "summary"}
reviewer      {"recommendations": [str], "summary"}

ValueError names what is wrong: the node fails with it, the others go on.
"""

from __future__ import annotations

from typing import Any

from agentdeck.domain.stacks import ROLES, Role, TodoPriority

MAX_TODOS = 10
MAX_TITLE = 300
MAX_TEXT = 20_000


def _text(value: Any, what: str, limit: int = MAX_TEXT, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{what} is missing")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    value = value.replace("\x00", "").strip()
    return value[:limit] or None


def _priority(value: Any) -> str:
    text = str(value or "medium").lower()
    return text if text in TodoPriority.__members__.values() else TodoPriority.MEDIUM.value


def read_output(role: Role, data: Any) -> dict[str, Any]:
    """The normalised output of `role` from its parsed JSON answer."""
    if not isinstance(data, dict):
        raise ValueError(f"the {role}'s answer must be a JSON object")
    summary = _text(data.get("summary"), "summary", 500) or ""
    if role == Role.PLANNER:
        todos = data.get("todos") or []
        if not isinstance(todos, list):
            raise ValueError("todos must be a list")
        out_todos = []
        for item in todos[:MAX_TODOS]:
            if isinstance(item, str):
                item = {"title": item}
            if not isinstance(item, dict):
                raise ValueError("each todo must be an object with a title")
            title = _text(item.get("title"), "a todo's title", MAX_TITLE, required=True)
            out_todos.append(
                {
                    "title": title,
                    "priority": _priority(item.get("priority")),
                    "detail": _text(item.get("detail") or item.get("description"), "detail"),
                }
            )
        changes = data.get("reprioritise") or {}
        if not isinstance(changes, dict):
            raise ValueError("reprioritise must map todo ids to priorities")
        return {
            "idea": _text(data.get("idea"), "idea", 4000),
            "todos": out_todos,
            "reprioritise": {str(k): _priority(v) for k, v in changes.items()},
            "summary": summary,
        }
    if role == Role.BUILDER:
        artifact = data.get("artifact")
        if artifact is not None:
            if not isinstance(artifact, dict):
                raise ValueError("artifact must be an object {name, content}")
            artifact = {
                "name": _text(artifact.get("name"), "the artifact's name", 300) or "result.md",
                "content": _text(artifact.get("content"), "the artifact's content", required=True),
            }
        return {"artifact": artifact, "done": bool(data.get("done", True)), "summary": summary}
    if role == Role.COMMUNICATOR:
        roles = {r.value for r in ROLES} - {Role.COMMUNICATOR.value}
        messages = []
        for item in data.get("messages") or []:
            if not isinstance(item, dict):
                raise ValueError("each message must be an object {to, body}")
            to = str(item.get("to", "planner")).lower()
            body = _text(item.get("body"), "a message's body", 4000)
            if body:
                for target in sorted(roles) if to in ("team", "all") else [to]:
                    if target in roles:
                        messages.append({"to": target, "body": body})
        return {
            "messages": messages,
            "broadcast": _text(data.get("broadcast"), "broadcast", 4000),
            "summary": summary,
        }
    recommendations = data.get("recommendations") or []
    if not isinstance(recommendations, list):
        raise ValueError("recommendations must be a list of text")
    texts = [_text(r, "a recommendation", 2000) for r in recommendations[:MAX_TODOS]]
    return {"recommendations": [t for t in texts if t], "summary": summary}
