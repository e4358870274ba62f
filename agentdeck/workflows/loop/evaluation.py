"""Reading an evaluator's answer: a score from 0 to 1, feedback, and per-criterion scores.

Models are asked for `{"score": 0..1, "feedback": str, "criteria": {name: 0..1}}` as
structured output (`EvaluationOut`, an output tool) but do not always comply: the JSON
may sit in a code fence or in prose, the score may be on a 0-10 or 0-100 scale, a
percentage or a fraction ("I'd rate this 9/10"), and the keys may differ a little. All
of that is read. What cannot be read surely is an EvaluationUnreadable that says what
came back and why, so the loop can ask once more: no score; two JSON objects that
disagree; a score above 1 with a fraction and no scale (1.5 is not 0.15, nor 0.3 of 5).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from agentdeck.domain.errors import AgentdeckError

SCORE_KEYS = ("score", "overall_score", "overall", "total_score", "rating", "grade")
FEEDBACK_KEYS = ("feedback", "comments", "comment", "suggestions", "improvements", "critique")
CRITERIA_KEYS = ("criteria", "criteria_scores", "criterion_scores", "scores", "rubric")
NESTED_KEYS = ("evaluation", "result", "assessment")
MAX_FEEDBACK = 20_000

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n(.*?)\n\s*```", re.DOTALL)
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_SCALE = rf"(?:%|/\s*{_NUMBER}|\s+out\s+of\s+{_NUMBER})"
_SCORE_TEXT = re.compile(
    rf"\b(?:(?:overall\s+)?(?:score|rating)\b\s*[:=]?|(?:i\s*(?:'d|would)\s+)?rat(?:e|ed|ing)"
    rf"\s+(?:this|it)(?:\s+(?:a|at|as))?)\s*\**\s*({_NUMBER}\s*{_SCALE}?)",
    re.IGNORECASE,
)


class EvaluationOut(BaseModel):
    """Your evaluation of the draft: a score from 0 to 1, feedback, and criteria."""

    score: float = Field(ge=0, le=1, description="How well the draft fulfils the task, 0 to 1.")
    feedback: str = Field(description="What to improve, concretely.")
    criteria: dict[str, float] = Field(
        default_factory=dict, description="A score from 0 to 1 per criterion."
    )


class EvaluationUnreadable(AgentdeckError):
    """The evaluator's answer holds no usable score."""


@dataclass(frozen=True)
class Evaluation:
    """What an evaluator said about one attempt."""

    score: float
    feedback: str
    criteria: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"score": self.score, "feedback": self.feedback, "criteria": dict(self.criteria)}


def parse_evaluation(text: str) -> Evaluation:
    """The evaluation in `text`: a JSON object if there is one, else a `score: X` in prose."""
    scored = [s for o in _json_objects(text) if (s := _score_of(_unwrap(o))) is not None]
    if len(set(scored)) > 1:
        raise EvaluationUnreadable(
            f"the answer holds {len(scored)} JSON objects with different scores "
            f"({', '.join(f'{s:g}' for s in scored)}): answer with one, with a score from 0 "
            f"to 1; got {' '.join(text.split())[:160]!r}"
        )
    data = _json_object(text)
    if data is not None:
        data = _unwrap(data)
        score = next((_score(data[k]) for k in _keys(data, SCORE_KEYS)), None)
        if score is not None:
            return Evaluation(score, _feedback(data), _criteria(data))
    found = _SCORE_TEXT.search(text)
    score = _score(found.group(1)) if found else None
    if score is None:
        start = " ".join(text.split())[:160]
        raw = next((data[k] for k in _keys(data, SCORE_KEYS)), None) if data else None
        raw = raw if raw is not None or not found else found.group(1)
        why = f"the score {raw!r} is not one from 0 to 1, nor N/10, N% or a whole 0..100; " * (
            raw is not None
        )
        raise EvaluationUnreadable(
            'expected JSON like {"score": 0.8, "feedback": "..."} with a score from 0 to 1; '
            f"{why}got {start!r}" + ("" if start else " (an empty answer)")
        )
    return Evaluation(score, text.strip()[:MAX_FEEDBACK])


def normalise_score(value: float) -> float | None:
    """A score on 0..1; whole numbers on 0..10 and 0..100 scales are scaled down; None if
    out of range or of no sure scale (1.5 could be 0.15, 0.3 of 5, or a slip)."""
    if not math.isfinite(value) or value < 0:
        return None
    if value > 1 and not value.is_integer():
        return None
    for scale in (1, 10, 100):
        if value <= scale:
            return round(value / scale, 4)
    return None


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return normalise_score(float(value))
    if isinstance(value, dict):
        inner = next((value[k] for k in _keys(value, ("score", "value"))), None)
        return _score(inner) if inner is not None else None
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip(".")
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            return percent / 100 if 0 <= percent <= 100 else None
        text = re.sub(r"\s+out\s+of\s+", "/", text, flags=re.IGNORECASE)
        if "/" in text:
            got, _, out_of = text.partition("/")
            top, bottom = float(got), float(out_of)
            return round(top / bottom, 4) if bottom > 0 and 0 <= top <= bottom else None
        return normalise_score(float(text))
    except ValueError:
        return None


def _feedback(data: dict[str, Any]) -> str:
    for key in _keys(data, FEEDBACK_KEYS):
        value = data[key]
        if isinstance(value, list):
            value = "; ".join(str(item) for item in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        if value:
            return str(value)[:MAX_FEEDBACK]
    return ""


def _criteria(data: dict[str, Any]) -> dict[str, float]:
    for key in _keys(data, CRITERIA_KEYS):
        value = data[key]
        pairs: list[tuple[Any, Any]] = []
        if isinstance(value, dict):
            pairs = list(value.items())
        elif isinstance(value, list):
            pairs = [
                (item.get("name") or item.get("criterion"), item.get("score"))
                for item in value
                if isinstance(item, dict)
            ]
        scores = {str(name): s for name, raw in pairs if name and (s := _score(raw)) is not None}
        if scores:
            return scores
    return {}


def _score_of(data: dict[str, Any]) -> float | None:
    return next((_score(data[k]) for k in _keys(data, SCORE_KEYS)), None)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object in the text, in order (objects inside them not again)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    start = text.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        start = text.find("{", end)
    return found


def _keys(data: dict[str, Any], wanted: tuple[str, ...]) -> list[str]:
    """The keys of `data` matching `wanted` (case-insensitively), in the order of `wanted`."""
    lowered = {str(k).lower(): k for k in data}
    return [lowered[w] for w in wanted if w in lowered]


def _unwrap(data: dict[str, Any]) -> dict[str, Any]:
    """`{"evaluation": {...}}` and the like: the inner object when the outer has no score."""
    if _keys(data, SCORE_KEYS):
        return data
    for key in _keys(data, NESTED_KEYS):
        if isinstance(data[key], dict):
            return data[key]  # type: ignore[no-any-return]
    return data


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`: the whole text, a fenced block, or one inside prose."""
    candidates = itertools.chain([text.strip()], (m.group(1) for m in _FENCE.finditer(text)))
    for candidate in candidates:  # lazily: a well-behaved answer is read by the first loads
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None
