"""The holiday table as the site admin edits it (the count itself is backend/responses/workdays.py).

Each change recounts the due dates still running and writes its audit line; the caller commits.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.errors import InvalidInput, NotFound
from backend.responses import overdue, workdays
from backend.responses.enums import HolidaySource
from backend.responses.models import HOLIDAY_REGIONS, Holiday


def get_holidays(*, session: Session, region: str, year: int) -> list[Holiday]:
    """The holidays of one region and year, in date order."""
    return list(session.exec(
        select(Holiday).where(Holiday.region == region)
        .where(col(Holiday.day) >= date(year, 1, 1)).where(col(Holiday.day) <= date(year, 12, 31))
        .order_by(col(Holiday.day))
    ))


def get_holiday(*, session: Session, holiday_id: int) -> Holiday:
    holiday = session.get(Holiday, holiday_id)
    if holiday is None:
        raise NotFound("There is no such holiday.")
    return holiday


def _clean_holiday_description(description: str) -> str:
    description = " ".join((description or "").split())
    if not description:
        raise InvalidInput("Say what the holiday is, for example “Christmas Day”.", field="description")
    if len(description) > 200:
        raise InvalidInput("The description is too long (200 characters at most).", field="description")
    return description


def _changed(*, session: Session, admin: User, action: str, region: str, year: int, ip: str | None) -> int:
    """Recounts the running due dates after a change to the table, audits it; returns how many due dates moved."""
    changed = overdue.recompute_due_dates(session=session)
    audit.record(session=session, action=action, actor=audit.actor_of(admin), actor_user_id=admin.id,
                 subject_type="holiday", subject_id=None, ip=ip,
                 details={"region": region, "year": year, "due_dates_changed": changed})
    return changed


def create_holiday(*, session: Session, region: str, day: date | None, description: str, admin: User,
                   ip: str | None = None) -> tuple[Holiday, int]:
    """Adds a day to a region's holiday table (the admin's own, never overwritten by a fill); returns it and how
    many due dates moved."""
    if region not in HOLIDAY_REGIONS:
        raise InvalidInput("Choose a region from the list.", field="region")
    if day is None:
        raise InvalidInput("Enter the date of the holiday.", field="day")
    description = _clean_holiday_description(description)
    taken = session.exec(select(Holiday.id).where(Holiday.region == region).where(Holiday.day == day)).first()
    if taken is not None:
        raise InvalidInput(f"{day.strftime('%-d %B %Y')} is already a holiday in this region.", field="day")
    holiday = Holiday(day=day, description=description, region=region, source=HolidaySource.admin)
    session.add(holiday)
    session.flush()
    return holiday, _changed(session=session, admin=admin, action="holiday_added", region=region, year=day.year,
                             ip=ip)


def update_holiday(*, session: Session, holiday_id: int, description: str, admin: User,
                   ip: str | None = None) -> tuple[Holiday, int]:
    """Changes a holiday's description (making the day the admin's own)."""
    holiday = get_holiday(session=session, holiday_id=holiday_id)
    holiday.description = _clean_holiday_description(description)
    holiday.source = HolidaySource.admin
    session.add(holiday)
    session.flush()
    return holiday, _changed(session=session, admin=admin, action="holiday_edited", region=holiday.region,
                             year=holiday.day.year, ip=ip)


def delete_holiday(*, session: Session, holiday_id: int, admin: User, ip: str | None = None) -> tuple[Holiday, int]:
    """Removes a day from the table."""
    holiday = get_holiday(session=session, holiday_id=holiday_id)
    session.delete(holiday)
    session.flush()
    return holiday, _changed(session=session, admin=admin, action="holiday_deleted", region=holiday.region,
                             year=holiday.day.year, ip=ip)


def fill_year(*, session: Session, region: str, year: int, admin: User, ip: str | None = None) -> tuple[int, int]:
    """Adds the `holidays` package's days for a region and year that the table lacks; returns how many, and how
    many due dates moved."""
    if region not in HOLIDAY_REGIONS:
        raise InvalidInput("Choose a region from the list.", field="region")
    if not 1990 <= year <= 2100:
        raise InvalidInput("Choose a year between 1990 and 2100.", field="year")
    added = workdays.fill_holidays(session=session, region=region, years=[year], missing_days=True)
    return added, _changed(session=session, admin=admin, action="holidays_filled", region=region, year=year, ip=ip)
