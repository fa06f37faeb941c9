"""Working days: due dates count from the dispatch (day zero), skipping weekends and holidays.

Dates are calendar dates in Europe/London. Every count can explain itself: which days it skipped and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import holidays as holidays_package
from sqlmodel import Session, col, select

from backend.clock import LONDON
from backend.responses.enums import HolidaySource
from backend.responses.models import DEFAULT_REGION, HOLIDAY_REGIONS, Holiday

WEEKEND = {5: "Saturday", 6: "Sunday"}


@dataclass(frozen=True)
class SkippedDay:
    day: date
    reason: str


@dataclass(frozen=True)
class DueDate:
    """The result of a count: the due date and how it was reached."""

    start: date
    working_days: int
    due: date
    skipped: list[SkippedDay] = field(default_factory=list)


def london_date(moment: datetime) -> date:
    """The calendar date in Europe/London of an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LONDON).date()


def add_working_days(start: date, working_days: int, holidays: Mapping[date, str]) -> DueDate:
    """The date `working_days` working days after `start` (day zero), with the days skipped on the way."""
    if working_days < 0:
        raise ValueError("working_days must not be negative")
    day = start
    counted = 0
    skipped: list[SkippedDay] = []
    while counted < working_days:
        day += timedelta(days=1)
        if day.weekday() in WEEKEND:
            skipped.append(SkippedDay(day, WEEKEND[day.weekday()]))
        elif day in holidays:
            skipped.append(SkippedDay(day, holidays[day]))
        else:
            counted += 1
    return DueDate(start=start, working_days=working_days, due=day, skipped=skipped)


def is_working_day(day: date, holidays: Mapping[date, str]) -> bool:
    return day.weekday() not in WEEKEND and day not in holidays


def package_holidays(region: str, years: Iterable[int]) -> dict[date, str]:
    """Bank holidays from the `holidays` package for a UK region (substitute days included)."""
    code = HOLIDAY_REGIONS[region]
    calendar = holidays_package.country_holidays("GB", subdiv=code, years=list(years))
    return {day: str(name) for day, name in sorted(calendar.items())}


def fill_holidays(*, session: Session, region: str = DEFAULT_REGION, years: Iterable[int],
                  missing_days: bool = False) -> int:
    """Adds the package's holidays for years the table has none of for that region; returns how many were added.

    A year already present is left alone, so the site admin's edits are never overwritten; `missing_days` (the
    admin's own "fill" button) adds instead each of the package's days the table lacks, in any year.
    """
    added = 0
    for year in years:
        have = set(session.exec(
            select(col(Holiday.day))
            .where(Holiday.region == region)
            .where(col(Holiday.day) >= date(year, 1, 1))
            .where(col(Holiday.day) <= date(year, 12, 31))
        ).all())
        if have and not missing_days:
            continue
        for day, name in package_holidays(region, [year]).items():
            if day not in have:
                session.add(Holiday(day=day, description=name[:200], region=region, source=HolidaySource.package))
                added += 1
    session.flush()
    return added


def get_holidays(*, session: Session, region: str, start: date, end: date) -> dict[date, str]:
    """The holiday table's days between start and end (inclusive) for a region."""
    rows = session.exec(
        select(Holiday)
        .where(Holiday.region == region)
        .where(col(Holiday.day) >= start)
        .where(col(Holiday.day) <= end)
    )
    return {row.day: row.description for row in rows}


def due_date(*, session: Session, start: date, working_days: int, region: str = DEFAULT_REGION) -> DueDate:
    """Counts working days from `start`, using (and filling if empty) the holiday table."""
    # 40 working days never span more than ~70 calendar days; leave room for long targets.
    horizon = start + timedelta(days=working_days * 2 + 30)
    fill_holidays(session=session, region=region, years=range(start.year, horizon.year + 1))
    return add_working_days(start, working_days, get_holidays(session=session, region=region, start=start,
                                                               end=horizon))
