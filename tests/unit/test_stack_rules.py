"""The pure rules of stacks: states, each detection priority, the graph, waves, decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentdeck.domain.errors import IllegalTransition
from agentdeck.domain.stacks import (
    ROLES,
    Action,
    Counters,
    Limits,
    Outcome,
    Role,
    Snapshot,
    StackAction,
    StackState,
    Work,
    build_graph,
    check_todo_move,
    clip_memory,
    decide,
    detect,
    move,
    over_limit,
    pause_for,
    remember,
    waves,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(seconds=60)
RECENT = {r.value: NOW - timedelta(seconds=5) for r in ROLES}


def snap(**values: object) -> Snapshot:
    base: dict[str, object] = {"idea": "A tool library", "pending": 1, "last_ran_at": RECENT}
    return Snapshot(**{**base, **values})  # type: ignore[arg-type]


# --- states -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "action", "target"),
    [
        ("idle", StackAction.START, StackState.RUNNING),
        ("stopped", StackAction.START, StackState.RUNNING),
        ("running", StackAction.PAUSE, StackState.PAUSED),
        ("paused", StackAction.RESUME, StackState.RUNNING),
        ("running", StackAction.STOP, StackState.STOPPED),
        ("paused", StackAction.STOP, StackState.STOPPED),
        ("idle", StackAction.STOP, StackState.STOPPED),
    ],
)
def test_stack_moves_allowed(state: str, action: StackAction, target: StackState) -> None:
    assert move(state, action) == target


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("running", StackAction.START),
        ("paused", StackAction.START),
        ("idle", StackAction.PAUSE),
        ("paused", StackAction.PAUSE),
        ("stopped", StackAction.PAUSE),
        ("running", StackAction.RESUME),
        ("stopped", StackAction.RESUME),
        ("stopped", StackAction.STOP),
    ],
)
def test_stack_moves_refused_say_where_the_stack_is(state: str, action: StackAction) -> None:
    with pytest.raises(IllegalTransition, match=f"the stack is {state}; it cannot become"):
        move(state, action)


def test_todo_moves_pending_to_in_progress_to_done_only() -> None:
    check_todo_move("pending", "in_progress")
    check_todo_move("in_progress", "done")
    with pytest.raises(IllegalTransition):
        check_todo_move("pending", "done")
    with pytest.raises(IllegalTransition):
        check_todo_move("done", "pending")


# --- detection: every rule of seed 001 ------------------------------------------------------


def test_planner_without_an_idea_has_priority_10() -> None:
    work = detect(snap(idea=None), Role.PLANNER, NOW, MINUTE)
    assert (work.priority, work.reason) == (10, "planner: no project idea → 10")


def test_planner_without_open_todos_has_priority_9() -> None:
    work = detect(snap(pending=0), Role.PLANNER, NOW, MINUTE)
    assert (work.priority, work.reason) == (9, "planner: no open todos → 9")


def test_planner_with_reviewer_recommendations_has_priority_8() -> None:
    work = detect(snap(recommendations_unread=2), Role.PLANNER, NOW, MINUTE)
    assert (work.priority, work.reason) == (8, "planner: 2 reviewer recommendations → 8")


def test_planner_periodic_check_has_priority_4_once_the_interval_passed() -> None:
    assert detect(snap(), Role.PLANNER, NOW, MINUTE).priority == 0
    late = {**RECENT, "planner": NOW - timedelta(seconds=75)}
    work = detect(snap(last_ran_at=late), Role.PLANNER, NOW, MINUTE)
    assert (work.priority, work.reason) == (4, "planner: periodic check, last ran 75 s ago → 4")


def test_builder_with_pending_high_priority_todos_has_priority_8() -> None:
    work = detect(snap(pending=3, pending_high=1), Role.BUILDER, NOW, MINUTE)
    assert work.reason == "builder: 3 pending todos, highest priority high → 8"


def test_builder_with_any_pending_todo_has_priority_6() -> None:
    work = detect(snap(pending=2, pending_medium=1), Role.BUILDER, NOW, MINUTE)
    assert work.reason == "builder: 2 pending todos, highest priority medium → 6"
    assert detect(snap(pending=0), Role.BUILDER, NOW, MINUTE).priority == 0


def test_a_todo_left_in_progress_between_cycles_is_the_builders_work() -> None:
    work = detect(snap(pending=0, in_progress=1, pending_high=1), Role.BUILDER, NOW, MINUTE)
    assert work.reason == "builder: 1 pending todo, highest priority high → 8"


def test_communicator_with_unread_messages_has_priority_7() -> None:
    work = detect(snap(messages_unread=1), Role.COMMUNICATOR, NOW, MINUTE)
    assert work.reason == "communicator: 1 unread message → 7"


def test_communicator_periodic_broadcast_has_priority_3() -> None:
    never = {**RECENT, "communicator": None}
    work = detect(snap(last_ran_at=never), Role.COMMUNICATOR, NOW, MINUTE)
    assert work.priority == 3
    assert work.reason.startswith("communicator: periodic broadcast")


def test_reviewer_with_completed_todos_or_new_artifacts_has_priority_6() -> None:
    done = detect(snap(done_unreviewed=2), Role.REVIEWER, NOW, MINUTE)
    assert done.reason == "reviewer: 2 completed todos to review → 6"
    made = detect(snap(artifacts_unreviewed=1), Role.REVIEWER, NOW, MINUTE)
    assert made.reason == "reviewer: 1 new artifact to review → 6"


def test_reviewer_periodic_pass_has_priority_4() -> None:
    late = {**RECENT, "reviewer": NOW - timedelta(seconds=61)}
    assert detect(snap(last_ran_at=late), Role.REVIEWER, NOW, MINUTE).priority == 4


# --- graph and waves -------------------------------------------------------------------


def test_graph_orders_by_priority_and_makes_builder_wait_for_planner() -> None:
    works = [
        Work(Role.PLANNER, 9, "p"),
        Work(Role.BUILDER, 6, "b"),
        Work(Role.COMMUNICATOR, 7, "c"),
        Work(Role.REVIEWER, 0, "r"),
    ]
    graph = build_graph(works)
    assert [n.role for n in graph] == [Role.PLANNER, Role.COMMUNICATOR, Role.BUILDER]
    assert [[n.role for n in w] for w in waves(graph)] == [
        [Role.PLANNER, Role.COMMUNICATOR],
        [Role.BUILDER],
    ]


def test_reviewer_runs_after_builder_only_when_both_run() -> None:
    both = waves(build_graph([Work(Role.BUILDER, 8, ""), Work(Role.REVIEWER, 6, "")]))
    assert [[n.role for n in w] for w in both] == [[Role.BUILDER], [Role.REVIEWER]]
    alone = waves(build_graph([Work(Role.REVIEWER, 6, "")]))
    assert [[n.role for n in w] for w in alone] == [[Role.REVIEWER]]


@given(st.lists(st.integers(0, 10), min_size=4, max_size=4))
def test_waves_respect_every_dependency_and_hold_every_node_once(priorities: list[int]) -> None:
    graph = build_graph(Work(role, p, "") for role, p in zip(ROLES, priorities, strict=True))
    layered = waves(graph)
    seen: list[Role] = []
    for wave in layered:
        for node in wave:
            assert set(node.depends_on) <= set(seen)
        seen += [n.role for n in wave]
    assert sorted(seen) == sorted(n.role for n in graph)
    assert {n.role for n in graph} == {r for r, p in zip(ROLES, priorities, strict=True) if p}


# --- the decision ------------------------------------------------------------------------------


LIMITS = Limits(stop_after_idle=3, stall_limit=5)


def test_new_work_continues_at_once() -> None:
    d = decide(Outcome(ran=1, new_todos=3), [Work(Role.BUILDER, 8, "")], Counters(), LIMITS)
    assert d.action == Action.CONTINUE
    assert d.delay == timedelta(0)
    assert "3 todos" in d.reason


@pytest.mark.parametrize(
    ("priority", "seconds"), [(10, 1), (8, 1), (7, 5), (5, 5), (4, 10), (0, 10)]
)
def test_pause_adapts_to_the_highest_remaining_priority(priority: int, seconds: int) -> None:
    assert pause_for(priority) == timedelta(seconds=seconds)
    d = decide(Outcome(ran=1), [Work(Role.PLANNER, priority, "")], Counters(), LIMITS)
    assert d.action == Action.PAUSE
    assert d.delay == timedelta(seconds=seconds)


def test_nothing_to_do_for_n_cycles_stops() -> None:
    d = decide(Outcome(ran=0), [], Counters(idle=2), LIMITS)
    assert d.action == Action.STOP
    assert d.reason == "nothing to do for 3 cycles"


def test_no_new_output_for_the_stall_limit_stops_with_the_reason() -> None:
    d = decide(Outcome(ran=2), [Work(Role.PLANNER, 9, "")], Counters(stalled=4), LIMITS)
    assert d.action == Action.STOP
    assert d.reason == "stalled: no new todos, artifacts or messages for 5 cycles"


def test_the_same_output_again_counts_as_a_stall() -> None:
    looping = Outcome(ran=1, new_messages=1, repeated=True)
    d = decide(looping, [Work(Role.COMMUNICATOR, 7, "")], Counters(stalled=4), LIMITS)
    assert d.action == Action.STOP
    assert "the same output again" in d.reason


def test_held_nodes_are_not_idleness() -> None:
    d = decide(Outcome(ran=0, held=2), [Work(Role.BUILDER, 8, "")], Counters(idle=2), LIMITS)
    assert d.action == Action.PAUSE
    assert d.counters.idle == 0


def test_budget_reached_parks_the_stack() -> None:
    d = decide(Outcome(ran=1, new_todos=1, budget_reached=True), [], Counters(), LIMITS)
    assert d.action == Action.PARK


def test_progress_resets_the_stall_counter() -> None:
    d = decide(Outcome(ran=1, new_artifacts=1), [], Counters(idle=0, stalled=4), LIMITS)
    assert d.counters == Counters(0, 0)


# --- memory ------------------------------------------------------------------------------------


@given(st.text(max_size=300), st.text(max_size=300), st.integers(10, 500))
def test_clipped_memory_never_exceeds_its_limit_and_keeps_the_newest(
    memory: str, entry: str, limit: int
) -> None:
    grown = remember(memory, entry)
    clipped = clip_memory(grown, limit)
    assert len(clipped) <= limit
    assert not over_limit(clipped, limit)
    if len(grown) > limit:
        assert grown.endswith(clipped[1:])
