"""Where a letter stands with its signatories, and the next thing its coalition has to do.

Shown on the letter's overview and in the campaign lists, so nobody has to guess where the signatories page is
or what comes after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.letters.models import Letter, LetterRecipient
from backend.responses.models import Dispatch
from backend.signatures.models import Invite, Signature

SIGNED_STATUSES = ("confirmed", "approved", "needs_reconfirmation")


@dataclass
class NextStep:
    text: str
    href: str
    label: str


@dataclass
class Progress:
    invited: int = 0
    signed: int = 0
    awaiting_confirmation: int = 0
    declined: int = 0
    unanswered: int = 0
    needs_reconfirmation: int = 0
    sent: bool = False
    next_step: NextStep | None = None


def _counts(*, session: Session, letter_id: int) -> Progress:
    progress = Progress()
    by_status = dict(session.exec(  # type: ignore[arg-type]
        select(Signature.status, func.count()).where(Signature.letter_id == letter_id).group_by(Signature.status)
    ).all())
    progress.signed = sum(by_status.get(s, 0) for s in SIGNED_STATUSES)
    progress.needs_reconfirmation = by_status.get("needs_reconfirmation", 0)
    progress.awaiting_confirmation = by_status.get("pending", 0)
    progress.declined = by_status.get("declined", 0)
    answered = select(Signature.invite_id).where(Signature.letter_id == letter_id) \
        .where(col(Signature.invite_id).is_not(None))
    invites = select(Invite.id).where(Invite.letter_id == letter_id).where(Invite.status != "revoked")
    progress.invited = len(session.exec(invites).all())
    progress.unanswered = len(session.exec(
        invites.where(col(Invite.status).in_(("invited", "opened", "bounced")))
        .where(col(Invite.id).not_in(answered))).all())
    progress.sent = session.exec(
        select(Dispatch.id).join(LetterRecipient, col(LetterRecipient.id) == Dispatch.letter_recipient_id)
        .where(LetterRecipient.letter_id == letter_id).limit(1)).first() is not None
    return progress


def _next_step(letter: Letter, p: Progress) -> NextStep:
    base = f"/letters/{letter.slug}"
    if letter.status == "draft":
        if letter.current_version_id is None:
            return NextStep("Write the text of the letter.", f"{base}/edit", "Write the text")
        return NextStep("When the text is ready, open the letter for signatures and invite organisations.",
                        f"{base}/signatories", "Go to the signatories")
    if letter.status == "open":
        if p.invited == 0 and p.signed == 0:
            return NextStep("Invite organisations to sign.", f"{base}/signatories", "Invite organisations")
        if p.needs_reconfirmation:
            return NextStep(f"{p.needs_reconfirmation} signator{'y has' if p.needs_reconfirmation == 1 else 'ies have'}"
                            " not yet approved the new text.", f"{base}/signatories", "Go to the signatories")
        if p.unanswered:
            return NextStep(f"{p.unanswered} invited organisation{' has' if p.unanswered == 1 else 's have'} "
                            "not answered yet: send a reminder, or close the letter for signatures when ready.",
                            f"{base}/signatories", "Go to the signatories")
        return NextStep("Everyone invited has answered: close the letter for signatures, then send it.",
                        f"{base}/signatories", "Go to the signatories")
    if letter.status == "closed":
        if not p.sent:
            return NextStep("Send the letter to its recipients.", f"{base}/tracking", "Send the letter")
        return NextStep("The letter was sent: record replies as they come, and publish it.",
                        f"{base}/publish", "Publish the letter")
    if letter.status == "published":
        return NextStep("The letter is public: record replies and track what was promised.",
                        f"{base}/tracking", "Record replies")
    return NextStep("This letter is archived.", f"{base}/overview", "See the letter")


def get(*, session: Session, letter: Letter) -> Progress:
    """The letter's signatory counts and its next step."""
    progress = _counts(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    progress.next_step = _next_step(letter, progress)
    return progress


def get_many(*, session: Session, letters: list[Letter]) -> dict[int, Progress]:
    """The progress of each letter, by letter id."""
    return {letter.id: get(session=session, letter=letter) for letter in letters}  # type: ignore[misc]


@dataclass
class Closed:
    """What a signing link says when the letter no longer takes signatures."""

    sent: bool
    published: bool
    sent_on: date | None


def closed_notice(*, session: Session, letter: Letter) -> Closed | None:
    """None while the letter is open; else whether it was sent (and when) or published."""
    if letter.status == "open":
        return None
    first = session.exec(
        select(col(Dispatch.sent_on)).join(LetterRecipient, col(LetterRecipient.id) == Dispatch.letter_recipient_id)
        .where(LetterRecipient.letter_id == letter.id).order_by(col(Dispatch.sent_on)).limit(1)).first()
    return Closed(sent=first is not None, published=letter.status == "published", sent_on=first)


def asked_again_on_change(*, session: Session, letter: Letter) -> int:
    """How many signatures that approved the current text a changed text would put on hold and ask again."""
    if letter.id is None or letter.current_version_id is None:
        return 0
    return len(session.exec(select(Signature.id).where(Signature.letter_id == letter.id)
                            .where(col(Signature.status).in_(("confirmed", "approved")))).all())
