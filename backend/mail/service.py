"""Queues emails in the outbox, rendered from templates/emails/<name>.txt and .html."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlmodel import Session, col, select

from backend.config import Settings
from backend.db import insert_row, insert_rows, utcnow
from backend.mail.models import OutboundAttachment, OutboundEmail
from backend.templating import Templating, current, for_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _templating(settings: Settings | None) -> Templating:
    """The caller's settings' templating; without them (PENDING, issue 18: callers in signatures, responses,
    commitments, inbound, campaigns and the scheduled jobs pass none yet) the process's current one."""
    return for_settings(settings) if settings is not None else current()


def render_email(template: str, context: dict[str, Any], *, settings: Settings | None = None) -> RenderedEmail:
    """Renders `emails/<template>.txt` (first line `Subject: ...`) and `emails/<template>.html`.

    Templates link with `absolute_url_for(route_name, **path_params)` (backend/templating.py)."""
    templating = _templating(settings)
    ctx = {"settings": templating.settings, **context}
    raw = templating.env.get_template(f"emails/{template}.txt").render(ctx)
    first, _, body = raw.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"emails/{template}.txt must start with a 'Subject:' line")
    subject = " ".join(first.removeprefix("Subject:").split())
    html = templating.env.get_template(f"emails/{template}.html").render({**ctx, "subject": subject})
    return RenderedEmail(subject=subject, text=body.lstrip("\n"), html=html)


def _message_id(settings: Settings | None = None) -> str:
    domain = parseaddr(_templating(settings).settings.mail_from)[1].rpartition("@")[2] or "undersigned.localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"


@dataclass(frozen=True)
class Queued:
    """An email now in the outbox."""

    id: int
    message_id: str


@dataclass(frozen=True)
class NewEmail:
    """An email for `enqueue_new`."""

    to: str
    template: str
    context: dict[str, Any]
    dedupe_key: str


def _row(*, to: str, template: str, context: dict[str, Any], dedupe_key: str | None,
         reply_to: str | None, settings: Settings | None) -> dict[str, Any]:
    """The outbox row of an email, rendered now (what is sent is what the state was when it was queued)."""
    settings = _templating(settings).settings
    rendered = render_email(template, context, settings=settings)
    return {"to_address": to, "template": template, "subject": rendered.subject, "text": rendered.text,
            "html": rendered.html, "reply_to": reply_to, "next_attempt_at": utcnow(),
            "message_id": _message_id(settings), "dedupe_key": dedupe_key}


def enqueue(
    *,
    session: Session,
    to: str,
    template: str,
    context: dict[str, Any],
    attachments: list[Attachment] | None = None,
    dedupe_key: str | None = None,
    reply_to: str | None = None,
    settings: Settings | None = None,
) -> Queued | None:
    """Adds an email to the outbox in the caller's transaction. With a dedupe key, at most one row is queued."""
    if not (to or "").strip():
        # No address (an imported signatory has none): nothing to queue, and a row would only fail.
        log.info("mail %s not queued: no address", template)
        return None
    row = _row(to=to, template=template, context=context, dedupe_key=dedupe_key, reply_to=reply_to,
               settings=settings)
    # A plain INSERT (no ORM instance): the outbox is on no public page. The unique index on the dedupe key
    # refuses a second email with the same key (ON CONFLICT DO NOTHING: no lookup first, no race, and the
    # caller's transaction goes on); only that rare repeat renders for nothing.
    email_id = insert_row(session, OutboundEmail, row, skip_conflicts=dedupe_key is not None)
    if email_id is None:
        return None
    for item in attachments or []:
        insert_row(session, OutboundAttachment, {"email_id": email_id, "filename": item.filename,
                                                 "content_type": item.content_type, "data": item.data})
    return Queued(id=email_id, message_id=row["message_id"])


def enqueue_new(*, session: Session, emails: list[NewEmail], settings: Settings | None = None) -> None:
    """Adds several emails to the outbox in one statement (a batch of sign-ons).

    Each dedupe key names a row made in this transaction (say, a new signature's id), so no email can have it
    yet and there is nothing to look up first; the unique index on the key still holds.
    """
    insert_rows(session, OutboundEmail, [
        _row(to=e.to, template=e.template, context=e.context, dedupe_key=e.dedupe_key, reply_to=None,
             settings=settings)
        for e in emails if (e.to or "").strip()])


def get(*, session: Session, email_id: int) -> OutboundEmail | None:
    """Gets an outbox row by its id."""
    return session.get(OutboundEmail, email_id)


def get_recent(*, session: Session, limit: int = 200) -> list[OutboundEmail]:
    """The newest outbox rows first (for the development mailbox)."""
    return list(session.exec(select(OutboundEmail).order_by(col(OutboundEmail.id).desc()).limit(limit)))


def get_attachments(*, session: Session, email_id: int) -> list[OutboundAttachment]:
    stmt = select(OutboundAttachment).where(OutboundAttachment.email_id == email_id)
    return list(session.exec(stmt.order_by(col(OutboundAttachment.id))))


def undeliverable(*, session: Session, addresses: list[str]) -> dict[str, str]:
    """Addresses whose latest mail was refused for good (a 5xx at RCPT or DATA, or unsendable), with the reason.

    A later message that went through clears it (the address was fixed, or the server changed its mind).
    """
    wanted = sorted({a for a in addresses if a})
    if not wanted:
        return {}
    latest: dict[str, OutboundEmail] = {}
    rows = session.exec(
        select(OutboundEmail).where(col(OutboundEmail.to_address).in_(wanted))
        .where(col(OutboundEmail.status).in_(("sent", "failed"))).order_by(col(OutboundEmail.id))
    )
    for row in rows:
        latest[row.to_address] = row
    return {address: (row.last_error or "refused") for address, row in latest.items()
            if row.status == "failed" and _is_permanent_refusal(row.last_error or "")}


def _is_permanent_refusal(error: str) -> bool:
    return error[:1] == "5" or error.startswith("unsendable")
