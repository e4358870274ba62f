"""Reading evaluators' answers: the JSON asked for, and what models send instead."""

from __future__ import annotations

import pytest

from agentdeck.workflows.loop.evaluation import EvaluationUnreadable, parse_evaluation


def test_parse_evaluation_reads_the_json_asked_for() -> None:
    found = parse_evaluation(
        '{"score": 0.72, "feedback": "add examples", "criteria": {"clarity": 0.8}}'
    )
    assert (found.score, found.feedback, found.criteria) == (0.72, "add examples", {"clarity": 0.8})


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('```json\n{"score": 0.6, "feedback": "x"}\n```', 0.6),
        ('Here is my evaluation:\n{"score": 0.4, "feedback": "x"}\nThanks!', 0.4),
        ('{"overall_score": 8, "comments": "x"}', 0.8),
        ('{"Score": "85%"}', 0.85),
        ('{"score": "7/10"}', 0.7),
        ('{"rating": 92}', 0.92),
        ('{"evaluation": {"score": 0.3, "feedback": "x"}}', 0.3),
        ('[{"score": 1}]', 1.0),
        ("Score: 0.65\nThe draft is thin on examples.", 0.65),
        ("**Overall score:** 9/10 — solid.", 0.9),
        ("Solid. I'd rate this 9/10; add an example.", 0.9),
        ("I would rate it 8 out of 10.", 0.8),
        ('{"score": 0.7, "feedback": "x"}\n{"score": 0.7, "feedback": "same"}', 0.7),
    ],
)
def test_parse_evaluation_reads_what_models_send_instead(text: str, score: float) -> None:
    assert parse_evaluation(text).score == pytest.approx(score)


def test_parse_evaluation_reads_feedback_lists_and_criteria_lists() -> None:
    found = parse_evaluation(
        '{"score": 0.5, "suggestions": ["shorter intro", "cite sources"], '
        '"criteria": [{"name": "clarity", "score": 6}, {"name": "depth", "score": "bad"}]}'
    )
    assert found.feedback == "shorter intro; cite sources"
    assert found.criteria == {"clarity": 0.6}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Looks great to me.",
        '{"feedback": "no score here"}',
        '{"score": true}',
        '{"score": -1}',
        '{"score": 250}',
        '{"score": "NaN"}',
        '{"score": 1.5, "feedback": "no sure scale"}',
        "score: 7.5",
        '{"score": 0.4, "feedback": "a"} {"score": 0.9, "feedback": "b"}',
    ],
)
def test_parse_evaluation_without_a_usable_score_says_what_came_back(text: str) -> None:
    with pytest.raises(EvaluationUnreadable, match="with a score from 0 to 1") as error:
        parse_evaluation(text)
    assert text[:20] in str(error.value)
