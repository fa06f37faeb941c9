"""Replies that file themselves: one function takes a raw RFC 5322 message from any source (IMAP, SMTP, LMTP).

A reply is matched to the letter recipient it answers by the address the letter carried (`reply+<token>@`,
like Alaveteli's per-request addresses), then by In-Reply-To/References against the Message-IDs of the letters
we sent. A matched reply waits on the letter's tracking page for the lead to review; nothing from a sender is
published until they file it. Unmatched mail goes to the holding pen. Automatic replies (out of office) are
recognised and filed as such, never counted as an answer. Nothing is ever sent back to the sender.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns import service as campaigns
from backend.campaigns.policy import Action, allows
from backend.config import Settings
from backend.db import utcnow
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.inbound.enums import InboundSource
from backend.inbound.models import InboundAttachment, InboundMessage, InboundState
from backend.letters.models import Letter, LetterRecipient, Recipient
from backend.mail import service as mail
from backend.responses import replies, tracking, workdays
from backend.responses.models import RESPONSE_KINDS, Dispatch
from backend.security import hash_token

log = logging.getLogger(__name__)

# What may be kept from a reply: documents and images, each checked by its first bytes where it has a signature.
ALLOWED_ATTACHMENTS: dict[str, tuple[str, bytes | None]] = {
    "application/pdf": (".pdf", b"%PDF-"),
    "image/png": (".png", b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": (".jpg", b"\xff\xd8\xff"),
    "image/gif": (".gif", b"GIF8"),
    "text/plain": (".txt", None),
    "text/csv": (".csv", None),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx", b"PK\x03\x04"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx", b"PK\x03\x04"),
    "application/vnd.oasis.opendocument.text": (".odt", b"PK\x03\x04"),
    "application/msword": (".doc", b"\xd0\xcf\x11\xe0"),
}
MAX_ATTACHMENTS = 10
AUTO_REPLY_KIND = "auto_reply"
REPLY_ADDRESS = re.compile(r"(?:^|[<\s,])reply\+([A-Za-z0-9_-]{16,64})@", re.IGNORECASE)
AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto:|away from (the )?office|"
    r"absence|abwesenheit|r[ée]ponse automatique)", re.IGNORECASE)


class MessageTooLarge(Exception):
    """The message is larger than INBOUND_MAX_BYTES; it is refused (SMTP 552), not stored."""


# Reading a message ---------------------------------------------------------------------------------------

class _TextFromHtml(HTMLParser):
    """The text of an HTML part, with line breaks where blocks end; scripts and styles dropped."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table",
                        "ul", "ol", "hr", "pre", "section", "article"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text from HTML (shown escaped, never rendered as HTML)."""
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_WROTE = re.compile(r"^(on\b.*\bwrote:|le\b.*\ba écrit\s*:|am\b.*\bschrieb.*:)$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^(-{2,}\s*(original message|forwarded message)\s*-{2,}|_{20,})$", re.IGNORECASE)


def trim_quoted(text: str) -> str:
    """The reply without the history it quotes (from "On ... wrote:", "Original Message", an Outlook header
    block, or the trailing "> " lines)."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        s = line.strip()
        joined = (s + " " + lines[i + 1].strip()) if i + 1 < len(lines) else s
        if _ORIGINAL.match(s) or _WROTE.match(s) or (s.lower().startswith("on ") and _WROTE.match(joined)):
            break
        if s.lower().startswith("from:") and i > 0 and not lines[i - 1].strip() and any(
                x.strip().lower().startswith(("sent:", "date:", "to:", "subject:")) for x in lines[i + 1:i + 4]):
            break
        out.append(line)
    while out and (out[-1].lstrip().startswith(">") or not out[-1].strip()):
        out.pop()
    return "\n".join(out).strip()


def auto_reply_reason(message: EmailMessage) -> str:
    """Why the message is an automatic reply ("" when it is not one)."""
    submitted = str(message.get("Auto-Submitted", "") or "").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted[:100]}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(header) is not None:
            return f"{header} header"
    precedence = str(message.get("Precedence", "") or "").strip().lower()
    if precedence in ("auto_reply", "bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    suppress = str(message.get("X-Auto-Response-Suppress", "") or "").lower()
    subject = str(message.get("Subject", "") or "")
    if AUTO_SUBJECT.match(subject):
        return f"subject says so ({subject[:80]})"
    if "oof" in suppress and "automatic" in subject.lower():
        return "Exchange out-of-office"
    return ""


def safe_filename(name: str, content_type: str) -> str:
    """A name fit for a download: no folders, plain characters, the extension of its checked type."""
    name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" ._") or "attachment"
    extension = ALLOWED_ATTACHMENTS.get(content_type, (".bin", None))[0]
    stem = name[:-len(extension)] if name.lower().endswith(extension) else name
    return stem[:100] + extension


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # a malformed header is not the message's end
        return ""


@dataclass
class Parsed:
    message: EmailMessage
    from_name: str
    from_address: str
    subject: str
    sent_at: datetime | None
    message_id: str
    text: str
    from_html: bool


def parse(raw: bytes) -> Parsed:
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    name, address = parseaddr(_header(message, "From"))
    sent_at = None
    try:
        date = parsedate_to_datetime(_header(message, "Date"))
        sent_at = date if date.tzinfo else date.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        pass
    text, from_html = "", False
    try:
        body = message.get_body(preferencelist=("plain", "html"))
        if body is not None:
            content = body.get_content()
            if body.get_content_type() == "text/html":
                text, from_html = html_to_text(content), True
            else:
                text = content
    except (LookupError, KeyError, ValueError):
        text = ""
    return Parsed(message=message, from_name=name[:200], from_address=address[:254],
                  subject=" ".join(_header(message, "Subject").split())[:300],
                  sent_at=sent_at, message_id=_header(message, "Message-ID").strip()[:300],
                  text=trim_quoted(text)[:200_000], from_html=from_html)


# Matching ------------------------------------------------------------------------------------------------

def _by_token(session: Session, candidates: list[str]) -> LetterRecipient | None:
    for address in candidates:
        for token in REPLY_ADDRESS.findall(" " + address):
            for form in dict.fromkeys((token, token.lower())):
                link = session.exec(select(LetterRecipient)
                                    .where(LetterRecipient.reply_token_hash == hash_token(form))).first()
                if link is not None:
                    return link
    return None


def _by_thread(session: Session, message: EmailMessage) -> LetterRecipient | None:
    ids = re.findall(r"<[^<>\s]+>", _header(message, "In-Reply-To") + " " + _header(message, "References"))
    if not ids:
        return None
    dispatch = session.exec(select(Dispatch).where(col(Dispatch.message_id).in_(ids))
                            .order_by(col(Dispatch.sent_at).desc())).first()
    return session.get(LetterRecipient, dispatch.letter_recipient_id) if dispatch is not None else None


def _attachments(message: EmailMessage, limit: int) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    kept: list[tuple[str, str, bytes]] = []
    notes: list[str] = []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        content_type = part.get_content_type()
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        if not isinstance(data, bytes):
            data = b""
        allowed = ALLOWED_ATTACHMENTS.get(content_type)
        if allowed is None:
            notes.append(f"left out {name!r}: files of type {content_type} are not kept")
        elif allowed[1] is not None and not data.startswith(allowed[1]):
            notes.append(f"left out {name!r}: it is not the {content_type} file it says it is")
        elif len(data) > limit:
            notes.append(f"left out {name!r}: {len(data) // 1024} KB is over the {limit // 1024 // 1024} MB limit")
        elif len(kept) >= MAX_ATTACHMENTS:
            notes.append(f"left out {name!r}: only {MAX_ATTACHMENTS} attachments are kept")
        else:
            kept.append((safe_filename(name, content_type), content_type, data))
    return kept, notes


def receive(*, session: Session, raw: bytes, source: str, settings: Settings,
            envelope_to: list[str] | None = None) -> InboundMessage:
    """Stores one raw RFC 5322 message, matched to the letter recipient it answers when it can be."""
    if len(raw) > settings.inbound_max_bytes:
        raise MessageTooLarge(f"{len(raw)} bytes is over the {settings.inbound_max_bytes} byte limit")
    parsed = parse(raw)
    message = parsed.message
    if parsed.message_id:
        again = session.exec(select(InboundMessage).where(InboundMessage.message_id == parsed.message_id)
                             .where(InboundMessage.from_address == parsed.from_address)).first()
        if again is not None:  # the same message fetched twice (a poll that could not move it, a retrying relay)
            return again
    addresses = list(envelope_to or [])
    for header in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        addresses += [a for _, a in getaddresses(message.get_all(header, []) or [])]
    link, matched_by = _by_token(session, addresses), "address"
    if link is None:
        link, matched_by = _by_thread(session, message), "in-reply-to"
    auto = auto_reply_reason(message)
    kept, notes = _attachments(message, settings.inbound_attachment_max_bytes)
    row = InboundMessage(
        raw=raw, size=len(raw), source=InboundSource(source), envelope_to=", ".join(envelope_to or [])[:1000],
        from_address=parsed.from_address, from_name=parsed.from_name, subject=parsed.subject,
        sent_at=parsed.sent_at, received_at=utcnow(), message_id=parsed.message_id, text=parsed.text,
        from_html=parsed.from_html, auto_reply=auto[:200], notes="; ".join(notes)[:2000],
        letter_recipient_id=link.id if link is not None else None, matched_by=matched_by if link else "",
        state=(InboundState.holding if link is None else InboundState.filed if auto else InboundState.to_review),
    )
    session.add(row)
    session.flush()
    for filename, content_type, data in kept:
        session.add(InboundAttachment(message_id=row.id, filename=filename,  # type: ignore[arg-type]
                                      content_type=content_type, size=len(data), data=data))
    audit.record(session=session, action="inbound_received", actor=f"mail {parsed.from_address}"[:200],
                 subject_type="inbound_message", subject_id=row.id,
                 details={"state": row.state, "matched_by": row.matched_by, "auto_reply": bool(auto)})
    if link is not None and not auto:
        _tell_the_lead(session=session, row=row, link=link)
    return row


def _tell_the_lead(*, session: Session, row: InboundMessage, link: LetterRecipient) -> None:
    letter = session.get(Letter, link.letter_id)
    recipient = session.get(Recipient, link.recipient_id)
    if letter is None or recipient is None:
        return
    for address in tracking.lead_emails(session=session, letter=letter):
        mail.enqueue(session=session, to=address, template="inbound_to_review",
                     context={"letter": letter, "recipient": recipient, "message": row},
                     dedupe_key=f"inbound-review:{row.id}:{address}")


# Reviewing -----------------------------------------------------------------------------------------------

@dataclass
class ToReview:
    message: InboundMessage
    recipient: Recipient


def for_letter(*, session: Session, letter: Letter) -> list[ToReview]:
    """The letter's inbound messages (any state), newest first, each with the recipient it answers."""
    rows = session.exec(
        select(InboundMessage, Recipient)
        .join(LetterRecipient, col(LetterRecipient.id) == InboundMessage.letter_recipient_id)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .where(LetterRecipient.letter_id == letter.id)
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
    ).all()
    return [ToReview(m, r) for m, r in rows]


def get_for_letter(*, session: Session, letter: Letter, message_id: int) -> tuple[InboundMessage, LetterRecipient]:
    """An inbound message matched to one of the letter's recipients, or NotFound."""
    row = session.get(InboundMessage, message_id)
    link = session.get(LetterRecipient, row.letter_recipient_id) if row and row.letter_recipient_id else None
    if row is None or link is None or link.letter_id != letter.id:
        raise NotFound("There is no such reply to this letter.")
    return row, link


def attachments_of(*, session: Session, message: InboundMessage) -> list[InboundAttachment]:
    return list(session.exec(select(InboundAttachment).where(InboundAttachment.message_id == message.id)
                             .order_by(col(InboundAttachment.id))))


def file(*, session: Session, letter: Letter, message: InboundMessage, kind: str, summary: str, is_public: bool,
         user: User, settings: Settings) -> None:
    """Files a reply: as a response of `kind` (which moves the reply status on), or as an automatic reply."""
    tracking.require(session=session, letter=letter, user=user, action=Action.file_reply)
    if message.state not in (InboundState.to_review, InboundState.filed) or message.response_id is not None:
        raise InvalidInput("This reply has already been filed.", field="kind")
    if kind != AUTO_REPLY_KIND and kind not in RESPONSE_KINDS:
        raise InvalidInput("Choose what kind of reply this is.", field="kind")
    if kind == AUTO_REPLY_KIND:
        message.auto_reply = message.auto_reply or "filed as an automatic reply by the lead"
    else:
        pdf = next((a for a in attachments_of(session=session, message=message)
                    if a.content_type == "application/pdf"), None)
        received = workdays.london_date(message.received_at)
        response = replies.record_response(
            session=session, letter=letter, letter_recipient_id=message.letter_recipient_id,  # type: ignore[arg-type]
            data=replies.ResponseInput(received_on=received, kind=kind,
                                         summary=(summary.strip() or message.subject or "Reply by email")[:1000],
                                         body=message.text, is_public=is_public),
            user=user, settings=settings,
            attachment=replies.Upload(pdf.filename, pdf.data) if pdf is not None else None)
        message.response_id = response.id
        message.auto_reply = ""
    message.state = InboundState.filed
    message.reviewed_by_id, message.reviewed_at = user.id, utcnow()
    session.add(message)
    audit.record(session=session, action="inbound_filed", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="inbound_message", subject_id=message.id,
                 details={"letter": letter.slug, "kind": kind, "public": is_public})


# The holding pen -----------------------------------------------------------------------------------------

def can_use_holding_pen(*, session: Session, user: User) -> bool:
    """Site admins, and staff who lead at least one letter's campaign."""
    return user.is_admin or bool(assignable(session=session, user=user))


def holding(*, session: Session, user: User) -> list[InboundMessage]:
    require_holding_pen(session=session, user=user)
    return list(session.exec(select(InboundMessage).where(InboundMessage.state == InboundState.holding)
                             .order_by(col(InboundMessage.received_at).desc())))


@dataclass(frozen=True)
class Target:
    letter_recipient_id: int
    label: str


def assignable(*, session: Session, user: User) -> list[Target]:
    """The letter recipients (sent to) that the user leads, for assigning a held reply."""
    rows = session.exec(
        select(LetterRecipient, Letter, Recipient)
        .join(Letter, col(Letter.id) == LetterRecipient.letter_id)
        .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
        .where(col(LetterRecipient.id).in_(select(Dispatch.letter_recipient_id)))
        .order_by(col(Letter.title), col(Recipient.name))
    ).all()
    roles: dict[int, str | None] = {}
    out = []
    for link, letter, recipient in rows:
        if letter.campaign_id not in roles:
            roles[letter.campaign_id] = campaigns.role_of(session=session, campaign_id=letter.campaign_id, user=user)
        if allows(roles[letter.campaign_id], Action.file_reply):
            out.append(Target(link.id, f"{letter.title}: {recipient.name}"  # type: ignore[arg-type]
                                       f"{', ' + recipient.position if recipient.position else ''}"))
    return out


def require_holding_pen(*, session: Session, user: User) -> None:
    """Forbidden unless the user may see the holding pen."""
    if not can_use_holding_pen(session=session, user=user):
        raise Forbidden("Only a site admin or a campaign lead can see mail that could not be matched.")


def get_held(*, session: Session, message_id: int, user: User) -> InboundMessage:
    """A message in the holding pen, for someone who may see the pen."""
    require_holding_pen(session=session, user=user)
    row = session.get(InboundMessage, message_id)
    if row is None or row.state != InboundState.holding:
        raise NotFound("There is no such message in the holding pen.")
    return row


def assign(*, session: Session, message: InboundMessage, letter_recipient_id: int, user: User) -> LetterRecipient:
    """Puts a held message on a letter the user leads, to review like a matched reply."""
    if letter_recipient_id not in {t.letter_recipient_id for t in assignable(session=session, user=user)}:
        raise InvalidInput("Choose a letter and recipient you lead.", field="letter_recipient_id")
    link = session.get(LetterRecipient, letter_recipient_id)
    assert link is not None
    message.letter_recipient_id = link.id
    message.matched_by = "assigned"
    message.state = InboundState.filed if message.auto_reply else InboundState.to_review
    session.add(message)
    audit.record(session=session, action="inbound_assigned", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="inbound_message", subject_id=message.id,
                 details={"letter_recipient_id": letter_recipient_id})
    return link


def discard(*, session: Session, message: InboundMessage, user: User) -> None:
    """Sets a message aside: one on a letter by whoever may file its replies, a held one by a holding-pen user."""
    link = session.get(LetterRecipient, message.letter_recipient_id) if message.letter_recipient_id else None
    letter = session.get(Letter, link.letter_id) if link is not None else None
    if letter is not None:
        tracking.require(session=session, letter=letter, user=user, action=Action.file_reply)
    else:
        require_holding_pen(session=session, user=user)
    message.state = InboundState.discarded
    message.reviewed_by_id, message.reviewed_at = user.id, utcnow()
    session.add(message)
    audit.record(session=session, action="inbound_discarded", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="inbound_message", subject_id=message.id)
