"""Responses: recording and editing them (earlier text kept as revisions), who wrote them, their attachment."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns import service as campaigns
from backend.campaigns.policy import Action, allows
from backend.config import Settings
from backend.errors import InvalidInput, NotFound
from backend.letters import service as letters
from backend.letters.enums import ReplyStatus
from backend.letters.models import Letter, LetterRecipient, Recipient
from backend.mail import service as mail
from backend.publishing import revision
from backend.responses import tracking
from backend.responses.enums import ResponseKind
from backend.responses.models import RESPONSE_KINDS, Response, ResponseRevision
from backend.responses.tracking import KIND_LABELS, first_dispatch_on, link_of, today
from backend.signatures import listing

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
        sent_on = first_dispatch_on(session=session, link=link)
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


def _store_attachment(upload: Upload, media_dir: str | Path) -> tuple[str, str]:
    relative = f"responses/{uuid.uuid4().hex}.pdf"
    target = Path(media_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(upload.data)
    name = Path(upload.filename or "response.pdf").name[:150] or "response.pdf"
    return relative, name if name.lower().endswith(".pdf") else name + ".pdf"


def record_response(
    *, session: Session, letter: Letter, letter_recipient_id: int, data: ResponseInput, user: User,
    settings: Settings, attachment: Upload | None = None,
) -> Response:
    """Records a response and moves the stored reply status on; signatories who opted in hear of public ones."""
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
    link, recipient = link_of(session=session, letter=letter, letter_recipient_id=letter_recipient_id)
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
        response.attachment_path, response.attachment_name = _store_attachment(attachment, settings.media_dir)
    session.add(response)
    link.reply_status = ReplyStatus(STATUS_AFTER[data.kind])
    session.add(link)
    session.flush()
    audit.record(session=session, action="response_recorded", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="response", subject_id=response.id,
                 details={"letter": letter.slug, "recipient": recipient.name, "kind": data.kind,
                          "author": author_line(response, recipient)})
    if response.is_public:
        _notify_signatories_of_response(session=session, letter=letter, response=response, recipient=recipient)
    revision.bump(session=session, letter_id=letter.id)
    return response


def _notify_signatories_of_response(*, session: Session, letter: Letter, response: Response,
                                    recipient: Recipient) -> None:
    for signature in listing.get_listed(session=session, letter=letter):
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
    tracking.require(session=session, letter=letter, user=user, action=Action.record_response)
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
    audit.record(session=session, action="response_edited", actor=audit.actor_of(user),
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
class AttachmentFile:
    """A response's PDF as it may be downloaded: where it is, its name, and whether anyone may have it."""

    path: Path
    name: str
    public: bool


def attachment_file(*, session: Session, slug: str, response_id: int, user: User | None,
                    settings: Settings) -> AttachmentFile:
    """The PDF sent with a response: the coalition always; everyone once the letter and response are public."""
    letter = letters.get_by_slug(session=session, slug=slug)
    if letter is None:
        raise NotFound("There is no letter at this address.")
    response, _ = get_response(session=session, letter=letter, response_id=response_id)
    member = user is not None and allows(
        campaigns.role_of(session=session, campaign_id=letter.campaign_id, user=user), Action.read)
    public = response.is_public and letter.status == "published"
    if not (member or public) or not response.attachment_path:
        raise NotFound("There is no attachment to download here.")
    path = Path(settings.media_dir) / response.attachment_path
    if not path.is_file():
        raise NotFound("The attachment file is missing.")
    return AttachmentFile(path=path, name=response.attachment_name or "response.pdf", public=public)
