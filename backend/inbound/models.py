"""Inbound mail: replies that come back to the letter's reply address, kept whole and filed by a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.inbound.enums import InboundSource, InboundState

INBOUND_STATES = tuple(s.value for s in InboundState)


class InboundMessage(TableBase, table=True):
    __tablename__ = "inbound_message"
    raw: bytes = Field(sa_type=LargeBinary)  # type: ignore[call-overload]  # the message as received, for the record
    size: int = Field(default=0)
    source: InboundSource = enum_field(InboundSource, length=10)
    envelope_to: str = Field(default="", max_length=1000)
    from_address: str = Field(default="", max_length=254)
    from_name: str = Field(default="", max_length=200)
    subject: str = Field(default="", max_length=300)
    sent_at: datetime | None = datetime_field()  # the Date: header
    received_at: datetime = datetime_field(nullable=False)
    message_id: str = Field(default="", max_length=300, index=True)
    text: str = Field(default="", sa_type=Text)  # type: ignore[call-overload]  # quoted history trimmed
    from_html: bool = Field(default=False)  # the text was converted from an HTML part
    state: InboundState = enum_field(InboundState, default=InboundState.holding, length=10, index=True)
    matched_by: str = Field(default="", max_length=20)  # "address", "in-reply-to", "assigned"
    letter_recipient_id: int | None = Field(default=None, foreign_key="letter_recipient.id", index=True,
                                            ondelete="SET NULL")
    auto_reply: str = Field(default="", max_length=200)  # why it was recognised as automatic ("" when not)
    response_id: int | None = Field(default=None, foreign_key="response.id", ondelete="SET NULL")
    reviewed_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    reviewed_at: datetime | None = datetime_field()
    notes: str = Field(default="", max_length=2000)  # e.g. attachments left out, and why


class InboundAttachment(TableBase, table=True):
    __tablename__ = "inbound_attachment"
    message_id: int = Field(foreign_key="inbound_message.id", index=True, ondelete="CASCADE")
    filename: str = Field(max_length=120)  # made safe: no path, plain characters
    content_type: str = Field(max_length=100)
    size: int
    data: bytes = Field(sa_type=LargeBinary)  # type: ignore[call-overload]
