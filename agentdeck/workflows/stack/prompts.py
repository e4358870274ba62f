"""What each role of a stack is asked: its task, the answer's JSON format, its context.

The context is one JSON object in the prompt (the simulator reads it too), so a model
sees exactly what the board showed it.
"""

from __future__ import annotations

import json
from typing import Any

from agentdeck.domain.stacks import Role

FORMATS = {
    Role.PLANNER: (
        "You plan the project of a team. If there is no project idea, invent one. Write the "
        "next todos (3 to 5, small and concrete) when none are open, and act on the "
        "reviewer's recommendations. Answer with JSON only: "
        '{"idea": str or null, "todos": [{"title": str, "priority": "high"|"medium"|"low", '
        '"detail": str}], "reprioritise": {"<todo id>": "high"|"medium"|"low"}, '
        '"summary": str}. Answer "todos": [] when the project needs nothing more.'
    ),
    Role.BUILDER: (
        "You build the todo you are given and hand in the result as an artifact. Answer "
        'with JSON only: {"artifact": {"name": str, "content": markdown}, "done": true, '
        '"summary": str}.'
    ),
    Role.COMMUNICATOR: (
        "You keep the team and the other teams informed. Read the messages and broadcasts, "
        "reply to the team, and when asked for the periodic broadcast write one short "
        'status for every team. Answer with JSON only: {"messages": [{"to": '
        '"planner"|"builder"|"reviewer"|"team", "body": str}], "broadcast": str or null, '
        '"summary": str}.'
    ),
    Role.REVIEWER: (
        "You review the completed todos and new artifacts, naming them, and recommend what "
        "the planner should do next. Answer with JSON only: "
        '{"recommendations": [str], "summary": str}.'
    ),
}


def prompt(role: Role, context: dict[str, Any], cycle: int) -> str:
    shown = {k: v for k, v in context.items() if k not in ("read", "broadcast_cursor")}
    body = json.dumps({"role": f"stack-{role.value}", "cycle": cycle, **shown}, indent=1)
    return f"{FORMATS[role]}\n\nContext:\n{body}"


def summary_prompt(memory: str, limit: int) -> str:
    return (
        f"Summarise this working memory of an agent in at most {limit // 2} characters, "
        "keeping decisions, open threads and names; answer with the summary only.\n\n"
        f"Memory:\n{memory}"
    )
