"""The task state machine: allowed transitions, the named moves, group summaries."""

from __future__ import annotations

import itertools

import pytest

from agentdeck.domain.errors import IllegalTransition
from agentdeck.domain.tasks import (
    CLAIM,
    FINISH,
    MOVES,
    REPORT_COMPLETED,
    TRANSITIONS,
    Move,
    TaskStatus,
    check_transition,
    group_status,
)

S = TaskStatus


def test_the_main_path_is_allowed() -> None:
    path = [S.PENDING, S.READY, S.ASSIGNED, S.RUNNING, S.COMPLETED]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)


@pytest.mark.parametrize("end", [S.COMPLETED, S.SKIPPED, S.CANCELLED])
def test_finished_tasks_never_change(end: TaskStatus) -> None:
    assert TRANSITIONS[end] == frozenset()
    with pytest.raises(IllegalTransition, match=f"task is {end}; it cannot become ready"):
        check_transition(end, S.READY)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.RUNNING),
        (S.PENDING, S.COMPLETED),
        (S.READY, S.COMPLETED),
        (S.ASSIGNED, S.COMPLETED),
        (S.BLOCKED, S.RUNNING),
    ],
)
def test_skipping_states_is_illegal(current: TaskStatus, target: TaskStatus) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, target)


def test_every_named_move_follows_the_state_machine() -> None:
    for move in MOVES:
        assert move.sources, move.name
        assert move.target in TaskStatus


def test_a_move_that_skips_a_state_cannot_be_declared() -> None:
    with pytest.raises(IllegalTransition):
        Move("bad", frozenset({S.READY}), (S.COMPLETED,))


def test_a_move_from_elsewhere_than_its_sources_is_refused() -> None:
    FINISH.check(S.RUNNING)
    with pytest.raises(IllegalTransition, match="completed"):
        FINISH.check(S.READY)
    CLAIM.check(S.READY)
    with pytest.raises(IllegalTransition):
        CLAIM.check(S.ASSIGNED)


def test_an_agent_may_report_completion_without_reporting_it_started() -> None:
    REPORT_COMPLETED.check(S.ASSIGNED)
    assert REPORT_COMPLETED.route == (S.RUNNING, S.COMPLETED)


@pytest.mark.parametrize(
    ("children", "shown"),
    [
        ([S.COMPLETED, S.COMPLETED], S.COMPLETED),
        ([S.COMPLETED, S.SKIPPED], S.COMPLETED),
        ([S.SKIPPED], S.SKIPPED),
        ([S.COMPLETED, S.FAILED], S.FAILED),
        ([S.CANCELLED, S.COMPLETED], S.CANCELLED),
        ([S.BLOCKED, S.RUNNING], S.BLOCKED),
        ([S.ASSIGNED, S.PENDING], S.RUNNING),
        ([S.COMPLETED, S.PENDING], S.RUNNING),
        ([S.READY, S.PENDING], S.READY),
        ([S.PENDING, S.PENDING], S.PENDING),
    ],
)
def test_a_group_shows_a_summary_of_its_subtasks(
    children: list[TaskStatus], shown: TaskStatus
) -> None:
    assert group_status(children) == shown
