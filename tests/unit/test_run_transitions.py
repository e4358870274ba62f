"""The run state machine: every allowed transition passes, every other one raises."""

from __future__ import annotations

import itertools

import pytest

from agentdeck.domain.errors import AgentdeckError, IllegalTransition
from agentdeck.domain.runs import (
    FINISHED,
    RunStatus,
    can_transition,
    check_transition,
    sources_of,
)

S = RunStatus

# Written out by hand from DESIGN.md §3, not derived from TRANSITIONS, so that a
# change to the table shows up here as a failing test.
ALLOWED = {
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.PAUSED),
    (S.QUEUED, S.CANCELLED),
    (S.RUNNING, S.SUCCEEDED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED),
    (S.RUNNING, S.WAITING),
    (S.RUNNING, S.PAUSED),
    (S.RUNNING, S.QUEUED),
    (S.WAITING, S.QUEUED),
    (S.WAITING, S.PAUSED),
    (S.WAITING, S.CANCELLED),
    (S.PAUSED, S.QUEUED),
    (S.PAUSED, S.CANCELLED),
}
ILLEGAL = sorted(set(itertools.product(RunStatus, RunStatus)) - ALLOWED)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_check_transition_accepts_every_allowed_transition(
    current: RunStatus, target: RunStatus
) -> None:
    assert can_transition(current, target)
    check_transition(current, target)
    check_transition(current.value, target)  # a status as read from the store


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_check_transition_rejects_every_other_transition_with_a_typed_error(
    current: RunStatus, target: RunStatus
) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition) as raised:
        check_transition(current, target)
    error = raised.value
    assert isinstance(error, AgentdeckError)
    assert (error.entity, error.current, error.target) == ("run", current.value, target.value)
    assert current.value in str(error)
    assert target.value in str(error)


def test_illegal_transitions_include_self_loops_and_leaving_finished_states() -> None:
    assert (S.RUNNING, S.RUNNING) in ILLEGAL
    assert (S.QUEUED, S.SUCCEEDED) in ILLEGAL
    for finished in FINISHED:
        assert all(not can_transition(finished, target) for target in RunStatus)


def test_finished_is_exactly_succeeded_failed_and_cancelled() -> None:
    assert {s for s in RunStatus if s.finished} == {S.SUCCEEDED, S.FAILED, S.CANCELLED}


def test_sources_of_lists_every_state_that_reaches_the_target() -> None:
    assert sources_of(S.CANCELLED) == {S.QUEUED, S.RUNNING, S.WAITING, S.PAUSED}
    assert sources_of(S.QUEUED) == {S.RUNNING, S.WAITING, S.PAUSED}
    assert sources_of(S.SUCCEEDED) == {S.RUNNING}
    assert sources_of(S.RUNNING) == {S.QUEUED}


def test_check_transition_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        check_transition("nonsense", S.RUNNING)
