"""The tracked recipients of a letter: today in London, each recipient's dispatches and reply state, the labels
the pages share, and the shape of a timeline entry (which backend.commitments adds to as well).

The stored `reply_status` is what the coalition says; `overdue` and `very_overdue` are computed from the due dates
(fixed at dispatch in working days, Europe/London) while the status is `awaiting` or `acknowledged`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from backend.accounts.models import Membership, User
from backend.campaigns import policy
from backend.campaigns.models import Campaign
from backend.campaigns.policy import Action, Permissions
from backend.db import utcnow
from backend.errors import NotFound
from backend.letters import service as letters
from backend.letters.enums import ReplyStatus
from backend.letters.models import Letter, LetterRecipient, Recipient
from backend.responses import workdays
from backend.responses.models import RESPONSE_KINDS, Dispatch

WAITING_STATUSES = ("awaiting", "acknowledged")
KIND_LABELS = {k: k.replace("_", " ").capitalize() for k in RESPONSE_KINDS}
CHANNEL_LABELS = {"email": "by email", "post": "by post", "hand": "by hand", "published_only": "published only"}

STATE_LABELS = {
    "awaiting": "Awaiting reply", "acknowledged": "Acknowledged", "holding_reply": "Holding reply",
    "replied": "Replied", "partial": "Partly replied", "declined": "Declined", "replied_offsite": "Replied elsewhere",
    "overdue": "Overdue", "very_overdue": "Very overdue",
}
COMMITMENT_LABELS = {"open": "Open", "in_progress": "In progress", "met": "Met", "missed": "Missed",
                     "dropped": "Dropped"}
REGION_LABELS = {"england-and-wales": "England and Wales", "scotland": "Scotland",
                 "northern-ireland": "Northern Ireland"}


@dataclass(frozen=True)
class Tracked:
    """A letter recipient with what the coalition needs to see about the reply."""

    link: LetterRecipient
    recipient: Recipient
    dispatches: list[Dispatch]
    state: str  # the stored status, or overdue / very_overdue


def letter_for(*, session: Session, slug: str, user: User, action: Action) -> tuple[Letter, Permissions]:
    """The letter at `slug` when the user may do `action` on it, and what else they may do there (for the page)."""
    letter = letters.get_by_slug(session=session, slug=slug)
    if letter is None:
        raise NotFound("There is no letter at this address.")
    role = policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=action)
    return letter, Permissions.of(role)


def require(*, session: Session, letter: Letter, user: User, action: Action) -> None:
    """Forbidden (or NotFound for an outsider) unless the user may do `action` on the letter."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=action)


def today() -> date:
    """Today in Europe/London."""
    return workdays.london_date(utcnow())


def get_tracked(*, session: Session, letter: Letter, on: date | None = None) -> list[Tracked]:
    """Each recipient of the letter with its dispatches and reply state."""
    on = on or today()
    rows = session.exec(
        select(LetterRecipient, Recipient)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .where(LetterRecipient.letter_id == letter.id)
        .order_by(col(LetterRecipient.position), col(LetterRecipient.id))
    ).all()
    ids = [lr.id for lr, _ in rows]
    dispatches: dict[int, list[Dispatch]] = {i: [] for i in ids if i is not None}
    if ids:
        for d in session.exec(select(Dispatch).where(col(Dispatch.letter_recipient_id).in_(ids))
                              .order_by(col(Dispatch.sent_at))):
            dispatches[d.letter_recipient_id].append(d)
    return [Tracked(lr, r, dispatches.get(lr.id or 0, []), reply_state(lr, on)) for lr, r in rows]


def reply_state(link: LetterRecipient, on: date) -> str:
    """The stored status, or `overdue` / `very_overdue` while waiting past the due dates."""
    if link.reply_status in WAITING_STATUSES and link.due_on is not None:
        if link.very_overdue_on is not None and on > link.very_overdue_on:
            return "very_overdue"
        if on > link.due_on:
            return "overdue"
    return link.reply_status


def link_of(*, session: Session, letter: Letter, letter_recipient_id: int) -> tuple[LetterRecipient, Recipient]:
    row = session.exec(
        select(LetterRecipient, Recipient)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .where(LetterRecipient.id == letter_recipient_id)
        .where(LetterRecipient.letter_id == letter.id)
    ).first()
    if row is None:
        raise NotFound("That recipient is not on this letter.")
    return row[0], row[1]


def fix_due_dates(*, session: Session, link: LetterRecipient, recipient: Recipient, start: date) -> None:
    link.due_on = workdays.due_date(session=session, start=start, working_days=recipient.reply_target_days,
                                    region=link.holiday_region).due
    link.very_overdue_on = workdays.due_date(session=session, start=start, working_days=recipient.very_overdue_days,
                                             region=link.holiday_region).due
    link.reply_status = ReplyStatus.awaiting
    link.still_waiting_for = None


def first_dispatch_on(*, session: Session, link: LetterRecipient) -> date | None:
    first = session.exec(
        select(Dispatch).where(Dispatch.letter_recipient_id == link.id).order_by(col(Dispatch.sent_on))
    ).first()
    return first.sent_on if first is not None else None


def lead_emails(*, session: Session, letter: Letter) -> list[str]:
    """The addresses of the lead organisation's staff."""
    stmt = (
        select(User.email)
        .join(Membership, col(Membership.user_id) == User.id)
        .join(Campaign, col(Campaign.lead_organisation_id) == Membership.organisation_id)
        .where(Campaign.id == letter.campaign_id)
        .where(col(User.verified_at).is_not(None))
    )
    return sorted(set(session.exec(stmt).all()))


@dataclass(frozen=True)
class TimelineEntry:
    on: date
    at: datetime | None
    kind: str  # drafted, signatures, sent, due, overdue, very_overdue, response, commitment
    title: str
    detail: str = ""
    anchor: str = ""
