"""Queues emails in the outbox, rendered from templates/emails/<name>.txt and .html."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, col, select

from backend.config import get_settings
from backend.db import utcnow
from backend.mail.models import OutboundAttachment, OutboundEmail

_env = Environment(
    loader=FileSystemLoader(get_settings().templates_dir),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
)


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


def render_email(template: str, context: dict[str, Any]) -> RenderedEmail:
    """Renders `emails/<template>.txt` (first line `Subject: ...`) and `emails/<template>.html`."""
    ctx = {"settings": get_settings(), **context}
    raw = _env.get_template(f"emails/{template}.txt").render(ctx)
    first, _, body = raw.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"emails/{template}.txt must start with a 'Subject:' line")
    subject = " ".join(first.removeprefix("Subject:").split())
    html = _env.get_template(f"emails/{template}.html").render({**ctx, "subject": subject})
    return RenderedEmail(subject=subject, text=body.lstrip("\n"), html=html)


def _message_id() -> str:
    domain = parseaddr(get_settings().mail_from)[1].rpartition("@")[2] or "undersigned.localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"


def enqueue(
    *,
    session: Session,
    to: str,
    template: str,
    context: dict[str, Any],
    attachments: list[Attachment] | None = None,
    dedupe_key: str | None = None,
    reply_to: str | None = None,
) -> OutboundEmail | None:
    """Adds an email to the outbox in the caller's transaction. With a dedupe key, at most one row is queued."""
    if dedupe_key is not None:
        found = session.exec(select(OutboundEmail).where(OutboundEmail.dedupe_key == dedupe_key)).first()
        if found is not None:
            return None
    rendered = render_email(template, context)
    email = OutboundEmail(
        to_address=to,
        template=template,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reply_to=reply_to,
        next_attempt_at=utcnow(),
        message_id=_message_id(),
        dedupe_key=dedupe_key,
    )
    session.add(email)
    session.flush()
    for item in attachments or []:
        session.add(
            OutboundAttachment(
                email_id=email.id,  # type: ignore[arg-type]
                filename=item.filename, content_type=item.content_type, data=item.data
            )
        )
    return email


def get(*, session: Session, email_id: int) -> OutboundEmail | None:
    """Gets an outbox row by its id."""
    return session.get(OutboundEmail, email_id)


def get_recent(*, session: Session, limit: int = 200) -> list[OutboundEmail]:
    """The newest outbox rows first (for the development mailbox)."""
    return list(session.exec(select(OutboundEmail).order_by(col(OutboundEmail.id).desc()).limit(limit)))


def get_attachments(*, session: Session, email_id: int) -> list[OutboundAttachment]:
    stmt = select(OutboundAttachment).where(OutboundAttachment.email_id == email_id)
    return list(session.exec(stmt.order_by(col(OutboundAttachment.id))))
