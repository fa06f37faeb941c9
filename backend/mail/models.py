"""The outbox: every email is a row written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.mail.enums import MailTransport, OutboxStatus

OUTBOX_STATUSES = tuple(s.value for s in OutboxStatus)


class OutboundEmail(TableBase, table=True):
    __tablename__ = "outbound_email"
    to_address: str = Field(max_length=254, index=True)
    template: str = Field(max_length=100)
    subject: str = Field(max_length=300)
    text: str = Field(sa_type=Text)  # type: ignore[call-overload]
    html: str = Field(sa_type=Text)  # type: ignore[call-overload]
    reply_to: str | None = Field(default=None, max_length=254)
    status: OutboxStatus = enum_field(OutboxStatus, default=OutboxStatus.queued, length=10, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = datetime_field(nullable=False, index=True)
    lease_expires_at: datetime | None = datetime_field()
    last_error: str | None = Field(default=None, sa_type=Text)  # type: ignore[call-overload]
    sent_at: datetime | None = datetime_field()
    message_id: str = Field(max_length=200, unique=True)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    transport: MailTransport | None = enum_field(MailTransport, default=None, nullable=True, length=10)


class OutboundAttachment(TableBase, table=True):
    __tablename__ = "outbound_attachment"
    email_id: int = Field(foreign_key="outbound_email.id", index=True, ondelete="CASCADE")
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    data: bytes = Field(sa_type=LargeBinary)  # type: ignore[call-overload]
