"""What a stack's agent is shown (its context) and how its structured output lands.

Both run inside one transaction each. Rows an output creates have ids derived from
(stack, cycle, role, n), so applying the same output twice (a replay) changes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from agentdeck.domain.stacks import MessageKind, Role, TodoPriority, TodoStatus
from agentdeck.store import stack_board as q
from agentdeck.store import stacks as stack_queries
from agentdeck.store.stack_tables import stacks


def row_id(prefix: str, *parts: object) -> str:
    """An id derived from what made the row: the same cycle writes the same ids again."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return f"{prefix}_{digest[:26]}"


def todo_id(stack_id: str, cycle: int, n: int) -> str:
    """Like `row_id`, and in the order the planner wrote them (a stack's todos sort by id)."""
    stack = hashlib.sha256(stack_id.encode()).hexdigest()[:16]
    return f"todo_{stack}_{cycle:07d}_{n:02d}"


SHOWN = 20  # todos, messages, artifacts put in one prompt
EXCERPT = 600  # characters of an artifact a reviewer is shown


def read_context(
    conn: Connection, stack_id: str, role: Role, now: datetime, *, take: bool = False
) -> dict[str, Any]:
    """The role's prompt material, with the ids of what it reads (marked read on apply).

    The builder's todo is the one it holds; with `take`, the next pending one if none.
    """
    stack = stack_queries.find_stack(conn, stack_id)
    assert stack is not None
    memory = next(
        (a.memory for a in stack_queries.list_agents(conn, stack_id) if a.role == role), ""
    )
    open_todos = [
        t for t in q.list_todos(conn, stack_id, limit=1000) if t.status != TodoStatus.DONE
    ][:SHOWN]
    unread = q.list_messages(conn, stack_id, to_role=role.value, unread=True, limit=SHOWN)
    ctx: dict[str, Any] = {
        "stack": stack.name,
        "idea": stack.idea,
        "memory": memory,
        "todos": [
            {"id": t.id, "title": t.title, "priority": t.priority, "status": t.status}
            for t in open_todos
        ],
        "messages": [
            {"id": m.id, "from": m.from_role, "kind": m.kind, "body": m.body} for m in unread
        ],
        "read": [m.id for m in unread],
        "broadcast_cursor": 0,
    }
    if role == Role.PLANNER:
        done = q.list_todos(conn, stack_id, status=TodoStatus.DONE.value, limit=1000)
        ctx["done"] = [t.title for t in done][-SHOWN:]
    elif role == Role.BUILDER:
        todo = q.held_todo(conn, stack_id, role.value)
        if todo is None and take:
            todo = q.take_todo(conn, stack_id, role.value, now)
        ctx["todo"] = (
            None
            if todo is None
            else {
                "id": todo.id,
                "title": todo.title,
                "detail": todo.detail,
                "priority": todo.priority,
            }
        )
    elif role == Role.COMMUNICATOR:
        broadcasts = q.unread_broadcasts(conn, stack_id, limit=SHOWN)
        ctx["broadcasts"] = [{"id": m.id, "body": m.body} for m in broadcasts]
        ctx["broadcast_cursor"] = max((m.id for m in broadcasts), default=0)
        ctx["periodic"] = not unread and not broadcasts
    elif role == Role.REVIEWER:
        done = [
            t
            for t in q.list_todos(conn, stack_id, status=TodoStatus.DONE.value, limit=1000)
            if not t.reviewed
        ][:SHOWN]
        ctx["completed"] = [{"id": t.id, "title": t.title} for t in done]
        ctx["artifacts"] = [
            {"id": a.id, "name": a.name, "excerpt": a.content[:EXCERPT]}
            for a in q.list_artifacts(conn, stack_id, unreviewed=True, limit=SHOWN)
        ]
    return ctx


def apply_output(
    conn: Connection,
    stack_id: str,
    role: Role,
    cycle: int,
    context: dict[str, Any],
    output: dict[str, Any],
    now: datetime,
) -> dict[str, int]:
    """Land a role's normalised output (workflows/stack/outputs.py); counts what it made."""
    made = {"todos": 0, "artifacts": 0, "messages": 0}
    messages: list[dict[str, Any]] = []

    def message(to_role: str | None, body: str, kind: MessageKind) -> None:
        n = len(messages)
        messages.append(
            {
                "key": f"{stack_id}:{cycle}:{role.value}:{n}",
                "stack_id": None if kind == MessageKind.BROADCAST else stack_id,
                "from_stack_id": stack_id,
                "from_role": role.value,
                "to_role": to_role,
                "kind": kind.value,
                "body": body,
                "cycle": cycle,
                "created_at": now,
            }
        )

    if role == Role.PLANNER:
        idea = output.get("idea")
        if idea:
            conn.execute(
                stacks.update()
                .where(stacks.c.id == stack_id, stacks.c.idea.is_(None))
                .values(idea=idea, updated_at=now)
            )
        rows = [
            {
                "id": todo_id(stack_id, cycle, i),
                "stack_id": stack_id,
                "title": todo["title"],
                "detail": todo.get("detail"),
                "priority": todo.get("priority", TodoPriority.MEDIUM.value),
                "status": TodoStatus.PENDING.value,
                "owner_role": Role.BUILDER.value,
                "cycle": cycle,
                "created_at": now,
                "updated_at": now,
            }
            for i, todo in enumerate(output.get("todos", []))
        ]
        q.add_todos(conn, rows)
        made["todos"] = len(rows)
        q.reprioritise(conn, stack_id, output.get("reprioritise", {}), now)
    elif role == Role.BUILDER:
        todo = context.get("todo")
        artifact = output.get("artifact")
        artifact_id = None
        if artifact:
            artifact_id = row_id("sart", stack_id, cycle, role.value)
            made["artifacts"] = 1
            q.add_artifacts(
                conn,
                [
                    {
                        "id": artifact_id,
                        "stack_id": stack_id,
                        "todo_id": todo["id"] if todo else None,
                        "role": role.value,
                        "name": artifact["name"],
                        "content": artifact["content"],
                        "cycle": cycle,
                        "created_at": now,
                    }
                ],
            )
        if todo and output.get("done", True):
            q.finish_todo(conn, todo["id"], cycle, artifact_id, now)
            message(Role.COMMUNICATOR.value, f"Done: {todo['title']}", MessageKind.MESSAGE)
    elif role == Role.COMMUNICATOR:
        for item in output.get("messages", []):
            message(item["to"], item["body"], MessageKind.MESSAGE)
        if output.get("broadcast"):
            message(None, output["broadcast"], MessageKind.BROADCAST)
    elif role == Role.REVIEWER:
        q.mark_reviewed(
            conn,
            stack_id,
            [t["id"] for t in context.get("completed", [])],
            [a["id"] for a in context.get("artifacts", [])],
        )
        for text in output.get("recommendations", []):
            message(Role.PLANNER.value, text, MessageKind.RECOMMENDATION)
    q.add_messages(conn, messages)
    # what this output made, whether its rows are written now or were by an attempt cut
    # short by a crash: a replayed cycle counts its progress as the first attempt did
    made["messages"] = len(messages)
    q.mark_read(conn, stack_id, context.get("read", []), context.get("broadcast_cursor", 0), now)
    return made
