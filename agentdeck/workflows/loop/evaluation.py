"""Reading an evaluator's answer: a score from 0 to 1, feedback, and per-criterion scores.

Models are asked for `{"score": 0..1, "feedback": str, "criteria": {name: 0..1}}` but do not
always comply: the JSON may sit in a code fence or in prose, the score may be on a 0-10 or
0-100 scale, a percentage or a fraction, and the keys may differ a little. All of that is
read; an answer with no score in it is an EvaluationUnreadable that says what came back.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from agentdeck.domain.errors import AgentdeckError

SCORE_KEYS = ("score", "overall_score", "overall", "total_score", "rating", "grade")
FEEDBACK_KEYS = ("feedback", "comments", "comment", "suggestions", "improvements", "critique")
CRITERIA_KEYS = ("criteria", "criteria_scores", "criterion_scores", "scores", "rubric")
NESTED_KEYS = ("evaluation", "result", "assessment")
MAX_FEEDBACK = 20_000

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n(.*?)\n\s*```", re.DOTALL)
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_SCORE_TEXT = re.compile(
    rf"\b(?:overall\s+)?(?:score|rating)\b\s*[:=]?\s*\**\s*({_NUMBER}\s*(?:%|/\s*{_NUMBER})?)",
    re.IGNORECASE,
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
        raise EvaluationUnreadable(
            'expected JSON like {"score": 0.8, "feedback": "..."} with a score from 0 to 1; '
            f"got {start!r}" + ("" if start else " (an empty answer)")
        )
    return Evaluation(score, text.strip()[:MAX_FEEDBACK])


def normalise_score(value: float) -> float | None:
    """A score on 0..1; 0..10 and 0..100 scales are scaled down; None if out of range."""
    if not math.isfinite(value) or value < 0:
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
