"""The reply status the coalition sets, the daily overdue alerts, and due-date upkeep and explanations."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns.policy import Action
from backend.db import utcnow
from backend.errors import InvalidInput
from backend.letters.enums import ReplyStatus
from backend.letters.models import REPLY_STATUSES, Letter, LetterRecipient, Recipient
from backend.mail import service as mail
from backend.publishing import revision
from backend.responses import tracking, workdays
from backend.responses.models import OverdueAlert
from backend.responses.tracking import WAITING_STATUSES, first_dispatch_on, lead_emails, link_of, reply_state, today


def set_reply_status(*, session: Session, letter: Letter, letter_recipient_id: int, status: str, user: User) -> None:
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    if status not in REPLY_STATUSES:
        raise InvalidInput("Choose a reply status from the list.", field="reply_status")
    link, recipient = link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
    before = link.reply_status
    link.reply_status = ReplyStatus(status)
    session.add(link)
    audit.record(session=session, action="reply_status_set", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="letter", subject_id=letter.id,
                 details={"recipient": recipient.name, "from": before, "to": status})
    revision.bump(session=session, letter_id=letter.id)


def confirm_still_waiting(*, session: Session, letter: Letter, letter_recipient_id: int, user: User) -> None:
    """The lead says they are still waiting: no more alerts for the current due date."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    link, _ = link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
    link.still_waiting_for = link.due_on
    session.add(link)


def check_overdue(*, session: Session, on: date | None = None) -> int:
    """The daily job: one alert per recipient, level and due date, unless the lead said they are still waiting.

    Safe to rerun and to run in several workers: the OverdueAlert row is unique, and the mail is queued in the
    same transaction as the row.
    """
    on = on or today()
    sent = 0
    rows = session.exec(
        select(LetterRecipient, Recipient, Letter)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .join(Letter, col(Letter.id) == LetterRecipient.letter_id)
        .where(col(LetterRecipient.reply_status).in_(WAITING_STATUSES))
        .where(col(LetterRecipient.due_on).is_not(None))
        .where(col(LetterRecipient.due_on) < on)
        .where(col(Letter.status) != "archived")
    ).all()
    for link, recipient, letter in rows:
        state = reply_state(link, on)
        if state not in ("overdue", "very_overdue") or link.still_waiting_for == link.due_on:
            continue
        due = link.very_overdue_on if state == "very_overdue" else link.due_on
        assert due is not None
        exists = session.exec(
            select(OverdueAlert.id).where(OverdueAlert.letter_recipient_id == link.id)
            .where(OverdueAlert.level == state).where(OverdueAlert.due_on == due)
        ).first()
        if exists is not None:
            continue
        try:
            with session.begin_nested():
                session.add(OverdueAlert(letter_recipient_id=link.id, level=state, due_on=due,  # type: ignore[arg-type]
                                         alerted_at=utcnow()))
                session.flush()
        except IntegrityError:
            continue  # another worker got there first
        for address in lead_emails(session=session, letter=letter):
            mail.enqueue(session=session, to=address, template="reply_overdue",
                         context={"letter": letter, "recipient": recipient, "link": link, "state": state,
                                  "due": due, "days_late": (on - due).days},
                         dedupe_key=f"overdue:{link.id}:{state}:{due.isoformat()}:{address}")
        sent += 1
    return sent


def recompute_due_dates(*, session: Session) -> int:
    """After the holiday table changes: recount the due dates of every recipient still waiting."""
    changed = 0
    rows = session.exec(
        select(LetterRecipient, Recipient)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .where(col(LetterRecipient.reply_status).in_(WAITING_STATUSES))
        .where(col(LetterRecipient.due_on).is_not(None))
    ).all()
    for link, recipient in rows:
        start = first_dispatch_on(session=session, link=link)
        if start is None:
            continue
        before = (link.due_on, link.very_overdue_on)
        link.due_on = workdays.due_date(session=session, start=start, working_days=recipient.reply_target_days,
                                        region=link.holiday_region).due
        link.very_overdue_on = workdays.due_date(session=session, start=start,
                                                 working_days=recipient.very_overdue_days,
                                                 region=link.holiday_region).due
        if (link.due_on, link.very_overdue_on) != before:
            session.add(link)
            changed += 1
    return changed


def explain_due_date(*, session: Session, letter: Letter, letter_recipient_id: int) -> tuple[
        Recipient, date | None, workdays.DueDate | None, workdays.DueDate | None]:
    """How the due dates of one recipient were counted (which days were skipped, and why)."""
    link, recipient = link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
    start = first_dispatch_on(session=session, link=link)
    if start is None:
        return recipient, None, None, None
    due = workdays.due_date(session=session, start=start, working_days=recipient.reply_target_days,
                            region=link.holiday_region)
    very = workdays.due_date(session=session, start=start, working_days=recipient.very_overdue_days,
                             region=link.holiday_region)
    return recipient, start, due, very
