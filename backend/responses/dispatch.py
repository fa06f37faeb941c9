"""Sending the letter: by email through the outbox (the PDF attached, a reply-to address unique to the letter and
recipient), by post or by hand; the due dates are fixed as it goes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr

from sqlmodel import Session, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns.policy import Action
from backend.config import Settings
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput
from backend.letters import service as letters
from backend.letters.enums import LetterStatus
from backend.letters.models import Letter
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import render_letter
from backend.mail import service as mail
from backend.publishing import revision
from backend.responses import tracking
from backend.responses.enums import DispatchChannel
from backend.responses.forms import SendRow, date_error, parse_date
from backend.responses.models import DISPATCH_CHANNELS, Dispatch
from backend.responses.tracking import CHANNEL_LABELS, Tracked, fix_due_dates, get_tracked, link_of, today
from backend.security import hash_token
from backend.signatures import listing


@dataclass(frozen=True)
class SendChoice:
    letter_recipient_id: int
    channel: str
    sent_on: date | None = None  # for post and hand: the day it went; email is now
    proof: str = ""


def _reply_address(token: str, settings: Settings) -> str:
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "undersigned.localhost"
    return f"reply+{token}@{domain}"


@dataclass(frozen=True)
class SendingPdf:
    """The letter PDF for the recipients, made before the sending transaction, and the text it was made from."""

    data: bytes
    version_id: int


def sending_pdf(*, session: Session, settings: Settings, letter: Letter) -> SendingPdf | None:
    """The PDF attached to the emailed letter: rendered (in a process of its own, a second or two) by a read-only
    session, so that the sending transaction does not hold the database while WeasyPrint works."""
    version = letters.current_version(session=session, letter=letter)
    if version is None or version.id is None:
        return None
    signatures = listing.get_listed(session=session, letter=letter)
    return SendingPdf(letter_pdf(session=session, letter=letter, version=version, signatures=signatures,
                                 settings=settings), version.id)


def send(
    *, session: Session, letter: Letter, choices: list[SendChoice], user: User, again_reason: str = "",
    ip: str | None = None, pdf: SendingPdf | None = None, settings: Settings,
) -> list[Dispatch]:
    """Closes signatures and sends the letter to each chosen recipient; fixes their due dates.

    Email goes through the outbox with the letter PDF attached and a reply-to address unique to the letter
    and recipient. A recipient already sent to needs `again_reason`.
    """
    tracking.require(session=session, letter=letter, user=user, action=Action.send)
    version = letters.current_version(session=session, letter=letter)
    if version is None:
        raise InvalidInput("The letter has no text yet: save a version before sending it.")
    if pdf is not None and pdf.version_id != version.id:
        raise Conflict("The text of the letter changed while it was being sent. Check it, then send again.")
    if letter.status == "archived":
        raise Conflict("This letter is archived and cannot be sent.")
    if not choices:
        raise InvalidInput("Choose at least one recipient to send the letter to.", field="recipients")
    now = utcnow()
    signatures = listing.get_listed(session=session, letter=letter)
    attachment: bytes | None = pdf.data if pdf is not None else None
    made: list[Dispatch] = []
    for choice in choices:
        link, recipient = link_of(session=session, letter=letter, letter_recipient_id=choice.letter_recipient_id)
        if choice.channel not in DISPATCH_CHANNELS:
            raise InvalidInput("Choose how the letter goes: by email, by post, by hand, or published only.",
                               field="channel")
        already = session.exec(select(Dispatch.id).where(Dispatch.letter_recipient_id == link.id)).first()
        if already is not None and not again_reason.strip():
            raise Conflict(f"The letter was already sent to {recipient.name}. To send it again, give a reason.")
        sent_on = today() if choice.channel == "email" else (choice.sent_on or today())
        if sent_on > today():
            raise InvalidInput("The date sent cannot be in the future.", field="sent_on")
        dispatch = Dispatch(letter_recipient_id=link.id, sent_at=now, sent_on=sent_on,  # type: ignore[arg-type]
                            channel=DispatchChannel(choice.channel), proof=choice.proof.strip()[:2000],
                            reason=again_reason.strip()[:2000], sent_by_id=user.id)
        if choice.channel == "email":
            if not recipient.email:
                raise InvalidInput(f"{recipient.name} has no email address: send by post or by hand instead.",
                                   field="channel")
            if attachment is None:  # callers that send by email pass one made before their transaction
                attachment = letter_pdf(session=session, letter=letter, version=version, signatures=signatures,
                                        settings=settings)
            token = secrets.token_hex(16)  # 128 bits, lower case: mail systems may fold an address's case
            link.reply_token_hash = hash_token(token)
            email = mail.enqueue(
                session=session, to=recipient.email, template="letter_to_recipient",
                context={"letter": letter, "version": version, "recipient": recipient,
                         "signatures": signatures,
                         "letter_html": render_letter(session=session, letter=letter, version=version,
                                                      signatures=signatures)},
                attachments=[mail.Attachment(f"{letter.slug}.pdf", "application/pdf", attachment)],
                reply_to=_reply_address(token, settings),
            )
            if email is not None:
                dispatch.outbound_email_id = email.id
                dispatch.message_id = email.message_id
        fix_due_dates(session=session, link=link, recipient=recipient, start=sent_on)
        session.add(link)
        session.add(dispatch)
        session.flush()
        made.append(dispatch)
        audit.record(session=session, action="letter_sent", actor=audit.actor_of(user),
                     actor_user_id=user.id, subject_type="letter", subject_id=letter.id, ip=ip,
                     details={"recipient": recipient.name, "channel": choice.channel, "again": bool(already)})
    if letter.status in ("draft", "open"):
        letter.status = LetterStatus.closed
        session.add(letter)
    first_time = {d.id for d in made if not d.reason}
    if first_time:
        for signature in signatures:
            if signature.notify_updates:
                mail.enqueue(session=session, to=signature.contact_email, template="letter_sent_to_signatory",
                             context={"letter": letter, "signature": signature,
                                      "recipients": [t.recipient for t in get_tracked(session=session,
                                                                                      letter=letter)]},
                             dedupe_key=f"letter-sent:{letter.id}:{signature.id}")
    session.flush()
    revision.bump(session=session, letter_id=letter.id)
    return made


def send_problems(*, session: Session, letter: Letter, tracked: list[Tracked], rows: list[SendRow],
                  reason: str) -> dict[str, str]:
    """Per-field problems with the send form, each beside its field (`send` checks again as it sends)."""
    errors: dict[str, str] = {}
    by_id = {t.link.id: t for t in tracked}
    for row in rows:
        t = by_id[row.letter_recipient_id]
        name = t.recipient.name
        if row.channel == "":
            continue
        if row.channel not in CHANNEL_LABELS:
            errors[f"channel-{row.letter_recipient_id}"] = f"Choose how the letter goes to {name}."
        elif row.channel == "email" and not t.recipient.email:
            errors[f"channel-{row.letter_recipient_id}"] = (f"{name} has no email address: "
                                                            "send by post or by hand instead.")
        if row.channel in ("post", "hand", "published_only"):
            problem = date_error(row.sent_on, f"the date the letter went to {name}")
            day = parse_date(row.sent_on)
            if problem:
                errors[f"sent_on-{row.letter_recipient_id}"] = problem
            elif day is not None and day > today():
                errors[f"sent_on-{row.letter_recipient_id}"] = f"The date sent to {name} cannot be in the future."
        if t.dispatches and not reason.strip():
            errors.setdefault("again_reason", f"The letter was already sent to {name}. "
                                              "To send it again, say why.")
    if not any(r.channel for r in rows):
        errors["recipients"] = "Choose at least one recipient to send the letter to."
    if letters.current_version(session=session, letter=letter) is None:
        errors["recipients"] = "The letter has no text yet: save a version before sending it."
    return errors
