"""The offline simulator's planner: tasks that follow from what the goal says.

A goal that lists its steps gets one task per item. Free text is matched to a kind of
work (a website, software, an event, research, a campaign, or anything else) whose
usual steps are written for the goal's own subject ("the bakery website") and for the
features it asks for ("with an online order form and a weekly menu" adds a task each).
"""

from __future__ import annotations

import re

from agentdeck.llm.simulated_kinds import ANYTHING, KINDS, Kind, Step
from agentdeck.llm.simulated_text import STOPWORDS, capitalised, clip, first_sentence

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.+?)\s*$", re.MULTILINE)
_OWNER = re.compile(
    r"\bfor\s+(?:a|an|my|our|the|their|his|her|your|this|local)?\s*([a-z][a-z' -]{2,60})",
    re.IGNORECASE,
)
_WITH = re.compile(r"\b(?:with|including|that has|featuring)\s+(.+?)(?:[.;\n]|$)", re.IGNORECASE)
_CUT = re.compile(
    r"\s+(?:with|that|which|who|where|so|to|in|on|and|by|before|after|near|including)\b.*$"
)
_LEAD = re.compile(r"^(?:i|we)\s+(?:want|need|would like)\s+to\s+|^please\s+", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:a|an|the|some|our|my|their)\s+", re.IGNORECASE)


def kind_of(goal: str) -> Kind:
    """The kind of work a goal describes, by the first kind whose words it uses."""
    lowered = f" {goal.lower()} "
    for kind in KINDS:
        if any(re.search(rf"\b{re.escape(w)}s?\b", lowered) for w in kind.words):
            return kind
    return ANYTHING


def subject_of(goal: str, kind: Kind) -> str:
    """What the work is about: 'bakery' in 'a website for my bakery', 'summer party' in
    'organise a summer party for the team', the goal itself for work of no known kind."""
    sentence = first_sentence(goal)
    if kind is ANYTHING:
        return clip(_LEAD.sub("", sentence).strip(" ."), 60) or "the work"
    match = _OWNER.search(sentence) if kind.owned else None
    if match:
        owner = _CUT.sub("", match.group(1).strip()).strip(" ,")
        if owner and len(owner.split()) <= 3:
            return owner.lower()
    for word in kind.words:
        # "bakery website" -> bakery (owned); "tiny URL shortener" -> URL shortener
        found = re.search(rf"((?:[\w'-]+\s+){{0,2}}){re.escape(word)}s?\b", sentence, re.I)
        if not found:
            continue
        before = [w for w in found.group(1).split() if w.lower() not in STOPWORDS]
        if kind.owned:
            if before:
                return before[-1].lower()
            continue
        thing = sentence[found.start(0) : found.end(0)].split()
        return " ".join([*before, thing[-1]])
    return kind.noun


def features_of(goal: str) -> list[str]:
    """What the goal asks for besides the usual steps: the items after 'with'."""
    match = _WITH.search(goal)
    if not match:
        return []
    items = re.split(r",\s*(?:and\s+)?|\s+and\s+|\s+plus\s+", match.group(1))
    cleaned = [_ARTICLE.sub("", i.strip(" .")) for i in items]
    return [clip(i, 60) for i in cleaned if 2 < len(i) <= 80][:4]


def plan_tasks(goal: str) -> tuple[str, list[dict[str, object]]]:
    """(title, tasks) for a goal: one task per listed item, else the kind's steps."""
    items = [clip(m, 100) for m in _LIST_ITEM.findall(goal)][:8]
    title = capitalised(clip(first_sentence(goal), 80)) or "Plan"
    if len(items) >= 2:
        return title, _listed(items, title)
    kind = kind_of(goal)
    subject = subject_of(goal, kind)
    steps = list(kind.steps)
    features = features_of(goal)
    if features:
        at = kind.feature_after
        anchor = steps[at - 1]
        extra = [
            Step(
                f"Add the {f} to the {{s}} {kind.noun}" if kind.owned else f"Add the {f}",
                f"Make the {f} work as the goal asks, and show it to the people it is for.",
                kind.feature_role,
                (at,),
                anchor.phase,
            )
            for f in features
        ]
        steps = _insert(steps, at, extra)
    tasks: list[dict[str, object]] = [
        {
            "id": f"T{i}",
            "title": capitalised(step.title.format(s=subject)),
            "description": step.detail.format(s=subject),
            "role": step.role,
            "prerequisites": [f"T{p}" for p in step.after],
            "phase": step.phase,
        }
        for i, step in enumerate(steps, start=1)
    ]
    # The main step has parts, so the graph shows subtasks without doubling every call.
    main = tasks[kind.feature_after - 1]
    main["subtasks"] = subtasks_of(main)
    return title, tasks


def _insert(steps: list[Step], at: int, extra: list[Step]) -> list[Step]:
    """Put `extra` after step `at`, renumbering later prerequisites; the next step waits."""
    shift = len(extra)
    new_ids = tuple(range(at + 1, at + 1 + shift))
    out = steps[:at] + extra
    for step in steps[at:]:
        after = tuple(p + shift if p > at else p for p in step.after)
        if at in step.after:
            after = (*after, *new_ids)
        out.append(Step(step.title, step.detail, step.role, after, step.phase))
    return out


def _listed(items: list[str], title: str) -> list[dict[str, object]]:
    n = len(items)
    tasks: list[dict[str, object]] = []
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
                "title": capitalised(item),
                "description": f"{capitalised(item)}, as a step towards: {title}.",
                "role": role_for(item),
                "prerequisites": prerequisites,
                "phase": f"Step {(i + 1) // 2}",
            }
        )
        tasks[-1]["subtasks"] = subtasks_of(tasks[-1])
    return tasks


def role_for(item: str) -> str:
    lowered = item.lower()
    if any(w in lowered for w in ("implement", "build", "code", "program", "fix")):
        return "coder"
    if any(w in lowered for w in ("test", "review", "check", "verify", "audit")):
        return "reviewer"
    return "executor"


def subtasks_of(task: dict[str, object]) -> list[dict[str, str]]:
    """Two parts of a task: working it out, then doing and checking it."""
    key, title = str(task["id"]), str(task["title"])
    lowered = title[:1].lower() + title[1:]
    return [
        {"id": f"{key}.1", "title": f"Work out how to {lowered}"},
        {"id": f"{key}.2", "title": f"{title}, and check the result"},
    ]


__all__ = ["KINDS", "Kind", "features_of", "kind_of", "plan_tasks", "subject_of", "subtasks_of"]
