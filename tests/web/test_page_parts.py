"""The pieces pages are made of: controls per status, forms from schemas, sessions, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.domain.runs import RunStatus
from agentdeck.web.pages.run_views import actions_of, tone_of
from agentdeck.web.pages.schema_form import fields_of, inputs_of
from agentdeck.web.pages.templating import ago_text, duration_text, money_text
from agentdeck.web.schemas import RunOut
from agentdeck.web.sessions import Session, decode, encode, local_path
from agentdeck.workflows.loop import LoopInputs

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def run_in(status: RunStatus, **changes: object) -> RunOut:
    values: dict[str, object] = {
        "id": "run_x",
        "workflow": "loop",
        "agents": [],
        "status": status,
        "verdict": None,
        "current_stage": None,
        "current_attempt": None,
        "max_attempts": None,
        "pass_threshold": None,
        "score": None,
        "progress": None,
        "error": None,
        "inputs": {},
        "priority": 0,
        "due_at": NOW,
        "idempotency_key": None,
        "wait_kind": None,
        "waiting_on": None,
        "claimed_by": None,
        "claimed_at": None,
        "heartbeat_at": None,
        "lease_expires_at": None,
        "stalled": False,
        "cancel_requested_at": None,
        "pause_requested_at": None,
        "retry_of": None,
        "created_at": NOW,
        "started_at": None,
        "finished_at": None,
        "updated_at": NOW,
        "cost_usd": "0",
        "priced_cost_usd": "0",
        "cost_unknown": False,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_tokens": 0,
        **changes,
    }
    return RunOut.model_validate(values)


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        (RunStatus.QUEUED, ["pause", "cancel"]),
        (RunStatus.RUNNING, ["pause", "cancel"]),
        (RunStatus.WAITING, ["pause", "cancel"]),
        (RunStatus.PAUSED, ["resume", "cancel"]),
        (RunStatus.SUCCEEDED, ["retry"]),
        (RunStatus.FAILED, ["retry"]),
        (RunStatus.CANCELLED, ["retry"]),
    ],
)
def test_controls_follow_the_run_state_machine(status: RunStatus, actions: list[str]) -> None:
    assert actions_of(run_in(status)) == actions


def test_a_requested_cancel_or_pause_is_not_offered_again() -> None:
    asked = run_in(RunStatus.RUNNING, cancel_requested_at=NOW, pause_requested_at=NOW)
    assert actions_of(asked) == []


def test_timeline_tones() -> None:
    assert tone_of("run.failed", None) == "bad"
    assert tone_of("verdict", {"verdict": "passed"}) == "good"
    assert tone_of("verdict", {"verdict": "failed"}) == "bad"
    assert tone_of("gate.opened", {}) == "gate"
    assert tone_of("llm.answered", {}) == "muted"


def test_loop_form_lists_agents_by_role_and_reads_values_back() -> None:
    from agentdeck.web.schemas import AgentOut

    def agent(name: str, role: str) -> AgentOut:
        return AgentOut.model_validate(
            {
                "name": name,
                "role": role,
                "description": "",
                "models": ["simulator"],
                "instructions": "",
                "skills": [],
                "tools": [],
                "temperature": None,
                "max_output_tokens": 10,
                "budget_usd": None,
                "max_concurrency": None,
                "requests_per_minute": None,
                "tokens_per_minute": None,
                "source": "database",
                "read_only": False,
                "path": None,
            }
        )

    agents = [agent("a-writer", "producer"), agent("judge", "evaluator")]
    fields = {f.key: f for f in fields_of(LoopInputs.model_json_schema(), agents)}
    assert fields["producer"].widget == "agent"
    assert fields["producer"].groups[0] == ("producers", [("a-writer", "a-writer (producer)")])
    assert fields["producer"].value == "producer"  # the default, marked as not defined here
    assert fields["task"].widget == "json"
    assert fields["max_attempts"].attrs == {"step": "1", "min": "1", "max": "20"}
    assert fields["budget_usd"].nullable
    form = {
        "inputs.producer": ["a-writer"],
        "inputs.task": ['{"topic": "x"}'],
        "inputs.max_attempts": ["2"],
        "inputs.pass_threshold": ["0.5"],
        "inputs.budget_usd": [""],
    }
    inputs, problems = inputs_of(fields_of(LoopInputs.model_json_schema(), agents, form))
    assert problems == {}
    assert inputs == {
        "producer": "a-writer",
        "evaluator": "evaluator",
        "reviser": "reviser",
        "task": {"topic": "x"},
        "max_attempts": 2,
        "pass_threshold": 0.5,
    }
    _, problems = inputs_of(
        fields_of(LoopInputs.model_json_schema(), agents, {"inputs.max_attempts": ["two"]})
    )
    assert problems == {"inputs.max_attempts": "inputs.max_attempts: must be a whole number"}


def test_session_cookie_is_signed_and_expires() -> None:
    key = b"k" * 32
    session = Session.new(signed_in=True)
    value = encode(session, key)
    assert decode(value, key) == session
    assert decode(value, b"other key" * 4) is None
    assert decode(value[:-2] + "xx", key) is None
    assert decode("garbage", key) is None
    assert decode(value, key, now=session.issued_at + 8 * 24 * 3600) is None


def test_next_after_sign_in_stays_on_this_site() -> None:
    assert local_path("/runs?status=failed") == "/runs?status=failed"
    assert local_path("//evil.example/") == "/"
    assert local_path("https://evil.example/") == "/"
    assert local_path("/\\evil.example") == "/"


def test_filters_say_times_costs_and_durations_plainly() -> None:
    assert ago_text(NOW - timedelta(seconds=2), NOW) == "just now"
    assert ago_text(NOW - timedelta(seconds=42), NOW) == "42 s ago"
    assert ago_text(NOW - timedelta(minutes=3, seconds=5), NOW) == "3 min ago"
    assert ago_text(NOW + timedelta(hours=2), NOW) == "in 2 h"
    assert money_text("0.5") == "$0.50"
    assert money_text("0.00042") == "$0.0004"
    assert money_text("1234.5") == "$1,234.50"
    assert money_text("0") == "$0"
    assert duration_text(timedelta(milliseconds=850)) == "850 ms"
    assert duration_text(timedelta(seconds=245)) == "4 min 05 s"
