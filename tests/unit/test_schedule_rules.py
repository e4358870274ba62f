"""The next-due rules of schedules: parsing specs and computing the next due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentdeck.domain.errors import InvalidInput
from agentdeck.domain.schedules import MAX_PERIOD, next_due, parse_spec

T = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
specs = st.one_of(
    st.builds(lambda h, m: f"daily {h}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    st.builds(lambda n: f"every {n} minutes", st.integers(1, 10080)),
    st.builds(lambda n: f"every {n} hours", st.integers(1, 168)),
)


@pytest.mark.parametrize(
    ("text", "after", "due"),
    [
        ("daily 13:00", T, datetime(2026, 3, 10, 13, 0, tzinfo=UTC)),
        ("daily 12:30", T, datetime(2026, 3, 11, 12, 30, tzinfo=UTC)),  # strictly after
        ("daily 02:05", T, datetime(2026, 3, 11, 2, 5, tzinfo=UTC)),
        ("every 15 minutes", T, datetime(2026, 3, 10, 12, 45, tzinfo=UTC)),
        ("every 1 hour", T, datetime(2026, 3, 10, 13, 0, tzinfo=UTC)),
        (
            "every 5 hours",
            T,
            datetime(2026, 3, 10, 17, 0, tzinfo=UTC),
        ),  # 98509 periods of 5 h since 1970
        ("  Every  2   MINUTES ", T, datetime(2026, 3, 10, 12, 32, tzinfo=UTC)),
    ],
)
def test_next_due_examples(text: str, after: datetime, due: datetime) -> None:
    assert next_due(parse_spec(text), after) == due


def test_specs_are_normalised() -> None:
    assert parse_spec("DAILY 7:05").text == "daily 07:05"
    assert parse_spec("every 1 minutes").text == "every 1 minute"
    assert parse_spec("every 3 hour").text == "every 3 hours"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "daily",
        "daily 24:00",
        "daily 12:60",
        "every 0 minutes",
        "every 169 hours",
        "every 10081 minutes",
        "every 5 days",
        "0 3 * * *",
        "weekly 12:00",
        5,
        None,
    ],
)
def test_bad_specs_are_refused_naming_the_field(text: object) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_spec(text)
    assert error.value.field == "spec"
    assert "daily HH:MM" in str(error.value)


def test_next_due_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_due(parse_spec("daily 10:00"), datetime(2026, 1, 1))


@given(specs, moments)
def test_next_due_is_the_first_occurrence_strictly_after(text: str, after: datetime) -> None:
    spec = parse_spec(text)
    due = next_due(spec, after)
    assert after < due <= after + (spec.period or timedelta(days=1))
    assert due.tzinfo is not None
    assert due.second == 0
    assert due.microsecond == 0
    if spec.at is not None:
        assert due.time() == spec.at
    # every moment between `after` and `due` leads to the same due time: no occurrence skipped
    assert next_due(spec, due - timedelta(microseconds=1)) == due
    # and the next one is a whole period (or a day) later
    assert next_due(spec, due) - due == (spec.period or timedelta(days=1))
    assert spec.period is None or spec.period <= MAX_PERIOD
