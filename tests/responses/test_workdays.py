"""The working-day counter: day zero is the dispatch date; weekends and bank holidays are skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.responses.workdays import (
    add_working_days,
    due_date,
    is_working_day,
    london_date,
    package_holidays,
)

ENGLAND = package_holidays("england-and-wales", range(2015, 2031))
SCOTLAND = package_holidays("scotland", range(2015, 2031))

CASES = [
    # (dispatch date, working days, expected due date, why)
    (date(2024, 3, 27), 2, date(2024, 4, 2), "Good Friday 29 March and Easter Monday 1 April 2024 skipped"),
    (date(2023, 4, 6), 1, date(2023, 4, 11), "Thursday before Easter: Good Friday, weekend, Easter Monday"),
    (date(2022, 12, 23), 1, date(2022, 12, 28), "Christmas on Sunday 2022: substitute day Tuesday 27 Dec"),
    (date(2021, 12, 24), 1, date(2021, 12, 29), "Christmas Sat and Boxing Day Sun 2021: substitutes Mon 27, Tue 28"),
    (date(2020, 12, 24), 1, date(2020, 12, 29), "Boxing Day Sat 2020: substitute Monday 28 Dec"),
    (date(2022, 9, 16), 1, date(2022, 9, 20), "State funeral of Queen Elizabeth II, Monday 19 September 2022"),
    (date(2023, 5, 5), 1, date(2023, 5, 9), "Coronation bank holiday, Monday 8 May 2023"),
    (date(2024, 6, 8), 1, date(2024, 6, 10), "dispatch on a Saturday: Monday is the first working day"),
    (date(2024, 6, 8), 5, date(2024, 6, 14), "dispatch on a Saturday: five working days is Friday"),
    (date(2024, 6, 9), 20, date(2024, 7, 5), "dispatch on a Sunday, 20 working days"),
    (date(2024, 6, 3), 20, date(2024, 7, 1), "20 working days from a Monday, no holidays"),
    (date(2024, 5, 1), 20, date(2024, 5, 31), "20 working days over two May bank holidays (6 and 27 May)"),
    (date(2024, 6, 3), 0, date(2024, 6, 3), "zero working days is day zero"),
]


@pytest.mark.parametrize(("start", "days", "expected", "why"), CASES, ids=[c[3] for c in CASES])
def test_due_date_table(start, days, expected, why):
    assert add_working_days(start, days, ENGLAND).due == expected, why


def test_count_explains_the_days_it_skipped():
    result = add_working_days(date(2022, 9, 16), 1, ENGLAND)
    assert [(s.day, s.reason) for s in result.skipped] == [
        (date(2022, 9, 17), "Saturday"),
        (date(2022, 9, 18), "Sunday"),
        (date(2022, 9, 19), "State Funeral of Queen Elizabeth II"),
    ]


def test_scotland_has_its_own_holidays():
    # 2 January is a bank holiday in Scotland only.
    assert add_working_days(date(2024, 1, 1), 1, ENGLAND).due == date(2024, 1, 2)
    assert add_working_days(date(2024, 1, 1), 1, SCOTLAND).due == date(2024, 1, 3)


def test_dates_are_taken_in_london():
    # 23:30 UTC on 30 June 2024 is already 1 July in London (BST).
    assert london_date(datetime(2024, 6, 30, 23, 30, tzinfo=UTC)) == date(2024, 7, 1)
    assert london_date(datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == date(2024, 12, 31)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2024, 1, 1), -1, ENGLAND)


@settings(max_examples=300, deadline=None)
@given(start=st.dates(min_value=date(2015, 1, 1), max_value=date(2029, 6, 30)),
       days=st.integers(min_value=1, max_value=60))
def test_due_date_is_never_a_weekend_or_holiday(start, days):
    result = add_working_days(start, days, ENGLAND)
    assert is_working_day(result.due, ENGLAND)
    assert result.due > start
    # Exactly `days` working days lie in (start, due].
    span = (result.due - start).days
    assert span - len(result.skipped) == days


def test_due_date_uses_and_fills_the_holiday_table(db):
    from sqlmodel import select

    from backend.responses.models import Holiday

    result = due_date(session=db, start=date(2022, 9, 16), working_days=20)
    assert date(2022, 9, 19) in [s.day for s in result.skipped]
    assert db.exec(select(Holiday).where(Holiday.day == date(2022, 9, 19))).first() is not None
    # An admin's edit (removing a holiday) is respected by later counts, and not undone by a refill.
    row = db.exec(select(Holiday).where(Holiday.day == date(2022, 9, 19))).one()
    db.delete(row)
    db.commit()
    again = due_date(session=db, start=date(2022, 9, 16), working_days=1)
    assert again.due == date(2022, 9, 19)
