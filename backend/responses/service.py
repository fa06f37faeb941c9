"""Sending the letter and tracking the reply: dispatches, due dates, responses, commitments, the timeline.

The stored `reply_status` is what the coalition says; `overdue` and `very_overdue` are computed from the due dates
(fixed at dispatch in working days, Europe/London) while the status is `awaiting` or `acknowledged`.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parseaddr
from pathlib import Path

from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.models import Membership, User
from backend.audit import service as audit
from backend.campaigns.models import Campaign
from backend.config import get_settings
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput, NotFound
from backend.letters import service as letters
from backend.letters.enums import LetterStatus, ReplyStatus
from backend.letters.models import REPLY_STATUSES, Letter, LetterRecipient, Recipient
from backend.mail import service as mail
from backend.publishing import revision
from backend.responses import workdays
from backend.responses.enums import CommitmentStatus, DispatchChannel, HolidaySource, ResponseKind
from backend.responses.models import (
    COMMITMENT_STATUSES,
    DISPATCH_CHANNELS,
    HOLIDAY_REGIONS,
    RESPONSE_KINDS,
    Commitment,
    CommitmentEvidence,
    Dispatch,
    Holiday,
    OverdueAlert,
    Response,
    ResponseRevision,
)
from backend.security import hash_token
from backend.signatures import service as signing
from backend.signatures.models import Signature

WAITING_STATUSES = ("awaiting", "acknowledged")
MAX_ATTACHMENT = 10 * 1024 * 1024
# What recording a response of a kind does to the stored reply status (the coalition can change it after).
STATUS_AFTER = {
    "acknowledgement": "acknowledged",
    "holding_reply": "holding_reply",
    "substantive_reply": "replied",
    "meeting_offered": "replied",
    "public_statement": "replied_offsite",
    "refusal": "declined",
}
KIND_LABELS = {k: k.replace("_", " ").capitalize() for k in RESPONSE_KINDS}
CHANNEL_LABELS = {"email": "by email", "post": "by post", "hand": "by hand", "published_only": "published only"}


@dataclass(frozen=True)
class SendChoice:
    letter_recipient_id: int
    channel: str
    sent_on: date | None = None  # for post and hand: the day it went; email is now
    proof: str = ""


@dataclass(frozen=True)
class Tracked:
    """A letter recipient with what the coalition needs to see about the reply."""

    link: LetterRecipient
    recipient: Recipient
    dispatches: list[Dispatch]
    state: str  # the stored status, or overdue / very_overdue


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


def _link_of(*, session: Session, letter: Letter, letter_recipient_id: int) -> tuple[LetterRecipient, Recipient]:
    row = session.exec(
        select(LetterRecipient, Recipient)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .where(LetterRecipient.id == letter_recipient_id)
        .where(LetterRecipient.letter_id == letter.id)
    ).first()
    if row is None:
        raise NotFound("That recipient is not on this letter.")
    return row[0], row[1]


def _reply_address(token: str) -> str:
    domain = parseaddr(get_settings().mail_from)[1].rpartition("@")[2] or "undersigned.localhost"
    return f"reply+{token}@{domain}"


def _fix_due_dates(*, session: Session, link: LetterRecipient, recipient: Recipient, start: date) -> None:
    link.due_on = workdays.due_date(session=session, start=start, working_days=recipient.reply_target_days,
                                    region=link.holiday_region).due
    link.very_overdue_on = workdays.due_date(session=session, start=start, working_days=recipient.very_overdue_days,
                                             region=link.holiday_region).due
    link.reply_status = ReplyStatus.awaiting
    link.still_waiting_for = None


@dataclass(frozen=True)
class SendingPdf:
    """The letter PDF for the recipients, made before the sending transaction, and the text it was made from."""

    data: bytes
    version_id: int


def sending_pdf(*, session: Session, letter: Letter) -> SendingPdf | None:
    """The PDF attached to the emailed letter: rendered (in a process of its own, a second or two) by a read-only
    session, so that the sending transaction does not hold the database while WeasyPrint works."""
    from backend.letters.pdf import letter_pdf

    version = letters.current_version(session=session, letter=letter)
    if version is None or version.id is None:
        return None
    signatures = signing.get_listed(session=session, letter=letter)
    return SendingPdf(letter_pdf(session=session, letter=letter, version=version, signatures=signatures), version.id)


def send(
    *, session: Session, letter: Letter, choices: list[SendChoice], user: User, again_reason: str = "",
    ip: str | None = None, pdf: SendingPdf | None = None,
) -> list[Dispatch]:
    """Closes signatures and sends the letter to each chosen recipient; fixes their due dates.

    Email goes through the outbox with the letter PDF attached and a reply-to address unique to the letter
    and recipient. A recipient already sent to needs `again_reason`.
    """
    from backend.letters.pdf import letter_pdf
    from backend.letters.rendering import render_letter

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
    signatures = signing.get_listed(session=session, letter=letter)
    attachment: bytes | None = pdf.data if pdf is not None else None
    made: list[Dispatch] = []
    for choice in choices:
        link, recipient = _link_of(session=session, letter=letter, letter_recipient_id=choice.letter_recipient_id)
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
                attachment = letter_pdf(session=session, letter=letter, version=version, signatures=signatures)
            token = secrets.token_hex(16)  # 128 bits, lower case: mail systems may fold an address's case
            link.reply_token_hash = hash_token(token)
            email = mail.enqueue(
                session=session, to=recipient.email, template="letter_to_recipient",
                context={"letter": letter, "version": version, "recipient": recipient,
                         "signatures": signatures,
                         "letter_html": render_letter(session=session, letter=letter, version=version,
                                                      signatures=signatures)},
                attachments=[mail.Attachment(f"{letter.slug}.pdf", "application/pdf", attachment)],
                reply_to=_reply_address(token),
            )
            if email is not None:
                dispatch.outbound_email_id = email.id
                dispatch.message_id = email.message_id
        _fix_due_dates(session=session, link=link, recipient=recipient, start=sent_on)
        session.add(link)
        session.add(dispatch)
        session.flush()
        made.append(dispatch)
        audit.record(session=session, action="letter_sent", actor=f"user:{user.id} {user.email}",
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


def set_reply_status(*, session: Session, letter: Letter, letter_recipient_id: int, status: str, user: User) -> None:
    if status not in REPLY_STATUSES:
        raise InvalidInput("Choose a reply status from the list.", field="reply_status")
    link, recipient = _link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
    before = link.reply_status
    link.reply_status = ReplyStatus(status)
    session.add(link)
    audit.record(session=session, action="reply_status_set", actor=f"user:{user.id} {user.email}",
                 actor_user_id=user.id, subject_type="letter", subject_id=letter.id,
                 details={"recipient": recipient.name, "from": before, "to": status})
    revision.bump(session=session, letter_id=letter.id)


def confirm_still_waiting(*, session: Session, letter: Letter, letter_recipient_id: int, user: User) -> None:
    """The lead says they are still waiting: no more alerts for the current due date."""
    link, _ = _link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
    link.still_waiting_for = link.due_on
    session.add(link)


# Responses -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResponseInput:
    received_on: date | None
    kind: str
    summary: str
    body: str = ""
    source_url: str = ""
    is_public: bool = True
    # Who wrote it when not the recipient itself (e.g. the Metropolitan Police Service for the Home Secretary).
    author_name: str = ""
    author_position: str = ""
    author_organisation: str = ""


AUTHOR_LIMITS = {"author_name": 200, "author_position": 300, "author_organisation": 200}


def has_own_author(response: Response) -> bool:
    """Whether the response names an author other than the recipient it answers."""
    return bool(response.author_name or response.author_organisation)


def author_label(response: Response, recipient: Recipient) -> str:
    """Who the response is from, in a few words: its own author, or else the recipient."""
    if has_own_author(response):
        return response.author_name or response.author_organisation
    return recipient.name


def author_line(response: Response, recipient: Recipient) -> str:
    """Who the response is from in full: name, position, organisation."""
    if has_own_author(response):
        parts = [response.author_name, response.author_position, response.author_organisation]
    else:
        parts = [recipient.name, recipient.position, recipient.recipient_organisation]
    return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _first_dispatch_on(*, session: Session, link: LetterRecipient) -> date | None:
    first = session.exec(
        select(Dispatch).where(Dispatch.letter_recipient_id == link.id).order_by(col(Dispatch.sent_on))
    ).first()
    return first.sent_on if first is not None else None


def validate_response(*, session: Session, link: LetterRecipient, data: ResponseInput) -> dict[str, str]:
    """Field errors for a response (empty when it can be saved)."""
    errors: dict[str, str] = {}
    if data.kind not in RESPONSE_KINDS:
        errors["kind"] = "Choose what kind of response this is."
    if not data.summary.strip():
        errors["summary"] = "Write a one-line summary of the response."
    elif len(data.summary) > 1000:
        errors["summary"] = "The summary is too long (1,000 characters at most)."
    if len(data.body) > 200_000:
        errors["body"] = "The full text is too long (200,000 characters at most)."
    for name, limit in AUTHOR_LIMITS.items():
        if len(getattr(data, name).strip()) > limit:
            errors[name] = f"This is too long ({limit} characters at most)."
    if data.author_position.strip() and not (data.author_name.strip() or data.author_organisation.strip()):
        errors["author_name"] = ("Give the author's name or organisation as well as the position, or leave all "
                                 "three empty when the reply is from the recipient.")
    url = data.source_url.strip()
    if url and (not url.startswith(("https://", "http://")) or len(url) > 1000 or any(c.isspace() for c in url)):
        errors["source_url"] = "Enter the source link as a web address starting with https://."
    if data.received_on is None:
        errors["received_on"] = "Enter the date the response was received."
    else:
        sent_on = _first_dispatch_on(session=session, link=link)
        if sent_on is None:
            errors["received_on"] = "The letter has not been sent to this recipient yet."
        elif data.received_on < sent_on:
            errors["received_on"] = (f"A response cannot be dated before the letter was sent "
                                     f"({sent_on.strftime('%-d %B %Y')}).")
        elif data.received_on > today():
            errors["received_on"] = "The date received cannot be in the future."
    return errors


def check_attachment(upload: Upload | None) -> str | None:
    """An error message when the attachment is not a PDF within the size limit."""
    if upload is None or not upload.data:
        return None
    if len(upload.data) > MAX_ATTACHMENT:
        return f"The attachment is too large ({len(upload.data) / 1024 / 1024:.1f} MB; 10 MB at most)."
    if not upload.data.startswith(b"%PDF-"):
        return "The attachment must be a PDF file."
    return None


def _store_attachment(upload: Upload) -> tuple[str, str]:
    relative = f"responses/{uuid.uuid4().hex}.pdf"
    target = Path(get_settings().media_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(upload.data)
    name = Path(upload.filename or "response.pdf").name[:150] or "response.pdf"
    return relative, name if name.lower().endswith(".pdf") else name + ".pdf"


def record_response(
    *, session: Session, letter: Letter, letter_recipient_id: int, data: ResponseInput, user: User,
    attachment: Upload | None = None,
) -> Response:
    """Records a response and moves the stored reply status on; signatories who opted in hear of public ones."""
    link, recipient = _link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
    errors = validate_response(session=session, link=link, data=data)
    problem = check_attachment(attachment)
    if problem:
        errors["attachment"] = problem
    if errors:
        raise ResponseErrors(errors)
    assert data.received_on is not None
    response = Response(
        letter_recipient_id=link.id,  # type: ignore[arg-type]
        received_on=data.received_on, kind=ResponseKind(data.kind), summary=data.summary.strip(),
        body=data.body.strip(),
        source_url=data.source_url.strip() or None, is_public=data.is_public, created_by_id=user.id,
        author_name=data.author_name.strip(), author_position=data.author_position.strip(),
        author_organisation=data.author_organisation.strip(),
    )
    if attachment is not None and attachment.data:
        response.attachment_path, response.attachment_name = _store_attachment(attachment)
    session.add(response)
    link.reply_status = ReplyStatus(STATUS_AFTER[data.kind])
    session.add(link)
    session.flush()
    audit.record(session=session, action="response_recorded", actor=f"user:{user.id} {user.email}",
                 actor_user_id=user.id, subject_type="response", subject_id=response.id,
                 details={"letter": letter.slug, "recipient": recipient.name, "kind": data.kind,
                          "author": author_line(response, recipient)})
    if response.is_public:
        _notify_signatories_of_response(session=session, letter=letter, response=response, recipient=recipient)
    revision.bump(session=session, letter_id=letter.id)
    return response


def _notify_signatories_of_response(*, session: Session, letter: Letter, response: Response,
                                    recipient: Recipient) -> None:
    for signature in signing.get_listed(session=session, letter=letter):
        if signature.notify_updates:
            mail.enqueue(session=session, to=signature.contact_email, template="response_recorded",
                         context={"letter": letter, "response": response, "recipient": recipient,
                                  "author": author_label(response, recipient),
                                  "signature": signature, "kind_label": KIND_LABELS[response.kind]},
                         dedupe_key=f"response:{response.id}:{signature.id}")


class ResponseErrors(InvalidInput):
    """Several field errors at once (the form shows each beside its field)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())), field=next(iter(errors)))
        self.errors = errors


def get_response(*, session: Session, letter: Letter, response_id: int) -> tuple[Response, LetterRecipient]:
    row = session.exec(
        select(Response, LetterRecipient)
        .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
        .where(Response.id == response_id)
        .where(LetterRecipient.letter_id == letter.id)
    ).first()
    if row is None:
        raise NotFound("There is no such response on this letter.")
    return row[0], row[1]


def update_response(
    *, session: Session, letter: Letter, response_id: int, data: ResponseInput, user: User,
) -> Response:
    """Edits a response, keeping the text before the edit as a revision."""
    response, link = get_response(session=session, letter=letter, response_id=response_id)
    errors = validate_response(session=session, link=link, data=data)
    if errors:
        raise ResponseErrors(errors)
    assert data.received_on is not None
    snapshot = {
        "received_on": response.received_on.isoformat(), "kind": response.kind, "summary": response.summary,
        "body": response.body, "source_url": response.source_url, "is_public": response.is_public,
        "author_name": response.author_name, "author_position": response.author_position,
        "author_organisation": response.author_organisation,
    }
    session.add(ResponseRevision(response_id=response.id, snapshot=json.dumps(snapshot),  # type: ignore[arg-type]
                                 edited_by_id=user.id))
    was_public = response.is_public
    response.received_on = data.received_on
    response.kind = ResponseKind(data.kind)
    response.summary = data.summary.strip()
    response.body = data.body.strip()
    response.source_url = data.source_url.strip() or None
    response.is_public = data.is_public
    response.author_name = data.author_name.strip()
    response.author_position = data.author_position.strip()
    response.author_organisation = data.author_organisation.strip()
    session.add(response)
    session.flush()
    audit.record(session=session, action="response_edited", actor=f"user:{user.id} {user.email}",
                 actor_user_id=user.id, subject_type="response", subject_id=response.id)
    if response.is_public and not was_public:
        recipient = session.get(Recipient, link.recipient_id)
        assert recipient is not None
        _notify_signatories_of_response(session=session, letter=letter, response=response, recipient=recipient)
    revision.bump(session=session, letter_id=letter.id)
    return response


def get_revisions(*, session: Session, response_id: int) -> list[tuple[ResponseRevision, dict[str, object]]]:
    rows = session.exec(select(ResponseRevision).where(ResponseRevision.response_id == response_id)
                        .order_by(col(ResponseRevision.id).desc()))
    return [(r, json.loads(r.snapshot)) for r in rows]


def get_responses(*, session: Session, letter: Letter, public_only: bool = False) -> list[tuple[Response, Recipient]]:
    stmt = (
        select(Response, Recipient)
        .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .where(LetterRecipient.letter_id == letter.id)
        .order_by(col(Response.received_on), col(Response.id))
    )
    if public_only:
        stmt = stmt.where(col(Response.is_public).is_(True))
    return [(r, rec) for r, rec in session.exec(stmt).all()]


@dataclass(frozen=True)
class PublicReply:
    """A public response in full, as the public page and the API show it."""

    response: Response
    recipient: Recipient
    author: str
    kind_label: str
    body_html: Markup
    commitments: list[Commitment]


def public_replies(*, session: Session, letter: Letter) -> list[PublicReply]:
    """The public responses with their full text (line breaks kept) and the commitments made in each."""
    from backend.letters.markdown import render_pasted

    made: dict[int, list[Commitment]] = {}
    for commitment, response, _evidence in get_commitments(session=session, letter=letter, public_only=True):
        made.setdefault(response.id or 0, []).append(commitment)
    return [PublicReply(response=r, recipient=rec, author=author_line(r, rec), kind_label=KIND_LABELS[r.kind],
                        body_html=render_pasted(r.body), commitments=made.get(r.id or 0, []))
            for r, rec in get_responses(session=session, letter=letter, public_only=True)]


# Commitments -----------------------------------------------------------------------------------------

def add_commitment(
    *, session: Session, letter: Letter, response_id: int, text: str, due_on: date | None, user: User,
) -> Commitment:
    response, _ = get_response(session=session, letter=letter, response_id=response_id)
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("Write what was promised.", field="text")
    if len(text) > 2000:
        raise InvalidInput("The commitment is too long (2,000 characters at most).", field="text")
    count = len(session.exec(select(Commitment.id).where(Commitment.response_id == response.id)).all())
    commitment = Commitment(response_id=response.id, text=text, due_on=due_on, position=count)  # type: ignore[arg-type]
    session.add(commitment)
    session.flush()
    audit.record(session=session, action="commitment_added", actor=f"user:{user.id} {user.email}",
                 actor_user_id=user.id, subject_type="commitment", subject_id=commitment.id)
    revision.bump(session=session, letter_id=letter.id)
    return commitment


def get_commitment(*, session: Session, letter: Letter, commitment_id: int) -> Commitment:
    row = session.exec(
        select(Commitment)
        .join(Response, col(Response.id) == Commitment.response_id)
        .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
        .where(Commitment.id == commitment_id)
        .where(LetterRecipient.letter_id == letter.id)
    ).first()
    if row is None:
        raise NotFound("There is no such commitment on this letter.")
    return row


def update_commitment(
    *, session: Session, letter: Letter, commitment_id: int, status: str, note: str, link: str = "",
    noted_on: date | None = None, user: User,
) -> CommitmentEvidence:
    """Adds a dated evidence note, changing the status when a new one is given."""
    commitment = get_commitment(session=session, letter=letter, commitment_id=commitment_id)
    if status not in COMMITMENT_STATUSES:
        raise InvalidInput("Choose a status from the list.", field="status")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Write a note saying what happened (and add a link to the evidence if there is one).",
                           field="note")
    link = (link or "").strip()
    if link and (not link.startswith(("https://", "http://")) or len(link) > 1000):
        raise InvalidInput("Enter the evidence link as a web address starting with https://.", field="link")
    evidence = CommitmentEvidence(
        commitment_id=commitment.id,  # type: ignore[arg-type]
        noted_on=noted_on or today(), note=note[:2000], link=link or None,
        status_from=commitment.status if status != commitment.status else None,
        status_to=CommitmentStatus(status) if status != commitment.status else None, created_by_id=user.id,
    )
    commitment.status = CommitmentStatus(status)
    session.add(commitment)
    session.add(evidence)
    session.flush()
    revision.bump(session=session, letter_id=letter.id)
    return evidence


def get_commitments(*, session: Session, letter: Letter, public_only: bool = False,
                    ) -> list[tuple[Commitment, Response, list[CommitmentEvidence]]]:
    stmt = (
        select(Commitment, Response)
        .join(Response, col(Response.id) == Commitment.response_id)
        .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
        .where(LetterRecipient.letter_id == letter.id)
        .order_by(col(Response.received_on), col(Commitment.position))
    )
    if public_only:
        stmt = stmt.where(col(Response.is_public).is_(True))
    pairs = session.exec(stmt).all()
    ids = [c.id for c, _ in pairs]
    evidence: dict[int, list[CommitmentEvidence]] = {}
    if ids:
        for e in session.exec(select(CommitmentEvidence).where(col(CommitmentEvidence.commitment_id).in_(ids))
                              .order_by(col(CommitmentEvidence.noted_on), col(CommitmentEvidence.id))):
            evidence.setdefault(e.commitment_id, []).append(e)
    return [(c, r, evidence.get(c.id or 0, [])) for c, r in pairs]


# Overdue alerts and due-date upkeep ------------------------------------------------------------------

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
        start = _first_dispatch_on(session=session, link=link)
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
    link, recipient = _link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
    start = _first_dispatch_on(session=session, link=link)
    if start is None:
        return recipient, None, None, None
    due = workdays.due_date(session=session, start=start, working_days=recipient.reply_target_days,
                            region=link.holiday_region)
    very = workdays.due_date(session=session, start=start, working_days=recipient.very_overdue_days,
                             region=link.holiday_region)
    return recipient, start, due, very


# The timeline ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEntry:
    on: date
    at: datetime | None
    kind: str  # drafted, signatures, sent, due, overdue, very_overdue, response, commitment
    title: str
    detail: str = ""
    anchor: str = ""


def timeline(*, session: Session, letter: Letter, public: bool, on: date | None = None) -> list[TimelineEntry]:
    """Everything that happened to the letter, oldest first. `public` leaves out drafts and private responses."""
    on = on or today()
    entries: list[TimelineEntry] = []
    versions = letters.get_versions(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    if versions and not public:
        first = versions[-1]
        entries.append(TimelineEntry(workdays.london_date(first.created_at), first.created_at, "drafted",
                                     "First draft saved", f"{len(versions)} version(s) in all"))
    signed = [s for s in session.exec(select(Signature).where(Signature.letter_id == letter.id)
                                      .where(Signature.status == "approved")) if s.approved_at]
    if signed:
        last = max(s.approved_at for s in signed if s.approved_at)
        entries.append(TimelineEntry(workdays.london_date(last), last, "signatures",
                                     f"{len(signed)} signator{'y' if len(signed) == 1 else 'ies'} approved the letter"))
    for tracked in get_tracked(session=session, letter=letter, on=on):
        for d in tracked.dispatches:
            title = f"Sent to {tracked.recipient.name} {CHANNEL_LABELS[d.channel]}"
            entries.append(TimelineEntry(d.sent_on, d.sent_at, "sent", title + (" (again)" if d.reason else "")))
        link = tracked.link
        if link.due_on:
            entries.append(TimelineEntry(link.due_on, None, "due", f"Reply from {tracked.recipient.name} due",
                                         f"{tracked.recipient.reply_target_days} working days after sending"))
            if tracked.state in ("overdue", "very_overdue"):
                entries.append(TimelineEntry(on, None, tracked.state,
                                             f"Reply from {tracked.recipient.name} is "
                                             f"{'very overdue' if tracked.state == 'very_overdue' else 'overdue'}",
                                             f"{(on - link.due_on).days} days after the due date"))
    for response, recipient in get_responses(session=session, letter=letter, public_only=public):
        title = f"{KIND_LABELS[response.kind]} from {author_line(response, recipient)}"
        if has_own_author(response):
            title += f" (on the letter to {recipient.name})"
        entries.append(TimelineEntry(response.received_on, None, "response", title, response.summary,
                                     anchor=f"response-{response.id}"))
    for commitment, _response, evidence in get_commitments(session=session, letter=letter, public_only=public):
        entries.append(TimelineEntry(workdays.london_date(commitment.created_at), commitment.created_at,
                                     "commitment", f"Commitment: {commitment.text}",
                                     f"due {commitment.due_on.strftime('%-d %B %Y')}" if commitment.due_on else "",
                                     anchor=f"commitment-{commitment.id}"))
        for e in evidence:
            if e.status_to:
                entries.append(TimelineEntry(e.noted_on, e.created_at, "commitment",
                                             f"Commitment {e.status_to.replace('_', ' ')}: {commitment.text}", e.note,
                                             anchor=f"commitment-{commitment.id}"))
    # Measured commitments (backend/commitments): those from public documents, and the figures reported.
    from backend.commitments import service as measured

    entries.extend(measured.timeline_entries(session=session, letter=letter, public=public))
    order = {"drafted": 0, "signatures": 1, "sent": 2, "response": 3, "commitment": 4, "due": 5, "overdue": 6,
             "very_overdue": 7}
    return sorted(entries, key=lambda e: (e.on, order.get(e.kind, 9)))


# The holiday table (site admin) -------------------------------------------------------------------------

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


def create_holiday(*, session: Session, region: str, day: date | None, description: str) -> Holiday:
    """Adds a day to a region's holiday table (the admin's own, never overwritten by a fill)."""
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
    return holiday


def update_holiday(*, session: Session, holiday_id: int, description: str) -> Holiday:
    holiday = get_holiday(session=session, holiday_id=holiday_id)
    holiday.description = _clean_holiday_description(description)
    holiday.source = HolidaySource.admin
    session.add(holiday)
    session.flush()
    return holiday


def delete_holiday(*, session: Session, holiday_id: int) -> Holiday:
    holiday = get_holiday(session=session, holiday_id=holiday_id)
    session.delete(holiday)
    session.flush()
    return holiday


def fill_holidays(*, session: Session, region: str, year: int) -> int:
    """Adds the `holidays` package's days for a region and year that the table lacks; returns how many."""
    if region not in HOLIDAY_REGIONS:
        raise InvalidInput("Choose a region from the list.", field="region")
    if not 1990 <= year <= 2100:
        raise InvalidInput("Choose a year between 1990 and 2100.", field="year")
    have = {h.day for h in get_holidays(session=session, region=region, year=year)}
    added = 0
    for day, name in workdays.package_holidays(region, [year]).items():
        if day not in have:
            session.add(Holiday(day=day, description=name[:200], region=region, source=HolidaySource.package))
            added += 1
    session.flush()
    return added
