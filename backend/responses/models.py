"""Reply tracking tables: the bank holidays that working-day due dates skip."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.responses.enums import (
    AlertLevel,
    CommitmentStatus,
    DispatchChannel,
    HolidaySource,
    ResponseKind,
)

# The UK nations' holiday calendars, by the names GOV.UK uses, and their code in the `holidays` package.
HOLIDAY_REGIONS = {
    "england-and-wales": "ENG",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}
DEFAULT_REGION = "england-and-wales"


class Holiday(TableBase, table=True):
    """A day no working-day count includes; filled from the `holidays` package and editable by the site admin."""

    __table_args__ = (UniqueConstraint("region", "day"),)
    day: date = Field(index=True)
    description: str = Field(max_length=200)
    region: str = Field(default=DEFAULT_REGION, max_length=20, index=True)
    source: HolidaySource = enum_field(HolidaySource, default=HolidaySource.package, length=10)


DISPATCH_CHANNELS = tuple(c.value for c in DispatchChannel)
RESPONSE_KINDS = tuple(k.value for k in ResponseKind)
COMMITMENT_STATUSES = tuple(s.value for s in CommitmentStatus)
ALERT_LEVELS = tuple(level.value for level in AlertLevel)


class Dispatch(TableBase, table=True):
    """The letter going to one recipient: by email (through the outbox), post, hand, or published only."""

    letter_recipient_id: int = Field(foreign_key="letter_recipient.id", index=True, ondelete="CASCADE")
    sent_at: datetime = datetime_field(nullable=False)
    sent_on: date  # the London date of sending: day zero of the reply count
    channel: DispatchChannel = enum_field(DispatchChannel, length=16)
    message_id: str | None = Field(default=None, max_length=200)
    outbound_email_id: int | None = Field(default=None, foreign_key="outbound_email.id", ondelete="SET NULL")
    proof: str = Field(default="", max_length=2000)  # e.g. a Royal Mail tracking number
    reason: str = Field(default="", max_length=2000)  # why it was sent again
    sent_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class Response(TableBase, table=True):
    """Something that came back from a recipient; earlier texts are kept as ResponseRevision rows."""

    letter_recipient_id: int = Field(foreign_key="letter_recipient.id", index=True, ondelete="CASCADE")
    received_on: date
    kind: ResponseKind = enum_field(ResponseKind, length=20)
    summary: str = Field(max_length=1000)
    body: str = Field(default="", sa_type=Text)  # type: ignore[call-overload]
    source_url: str | None = Field(default=None, max_length=1000)
    attachment_path: str | None = Field(default=None, max_length=300)
    attachment_name: str | None = Field(default=None, max_length=200)
    is_public: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    # Who wrote it, which may be another body than the recipient it answers (the Met for the Home Secretary);
    # empty means the recipient itself.
    author_name: str = Field(default="", max_length=200)
    author_position: str = Field(default="", max_length=300)
    author_organisation: str = Field(default="", max_length=200)


class ResponseRevision(TableBase, table=True):
    """The text of a response before an edit."""

    __tablename__ = "response_revision"
    response_id: int = Field(foreign_key="response.id", index=True, ondelete="CASCADE")
    # JSON of the fields before the edit.
    snapshot: str = Field(sa_type=Text)  # type: ignore[call-overload]
    edited_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class Commitment(TableBase, table=True):
    """A promise: from a recorded response, or from a public document attached to the letter (exactly one)."""

    __table_args__ = (
        CheckConstraint("(response_id IS NULL) <> (document_id IS NULL)", name="one_source"),
    )
    response_id: int | None = Field(default=None, foreign_key="response.id", index=True, ondelete="CASCADE")
    # Measured commitments (backend/commitments): the public document the promise was made in.
    document_id: int | None = Field(default=None, foreign_key="public_document.id", index=True,
                                    ondelete="CASCADE")
    text: str = Field(max_length=2000)
    due_on: date | None = None
    status: CommitmentStatus = enum_field(CommitmentStatus, default=CommitmentStatus.open, length=12)
    position: int = Field(default=0)


class CommitmentEvidence(TableBase, table=True):
    """A dated note (and link) on a commitment; a status change is recorded as one too."""

    __tablename__ = "commitment_evidence"
    commitment_id: int = Field(foreign_key="commitment.id", index=True, ondelete="CASCADE")
    noted_on: date
    note: str = Field(max_length=2000)
    link: str | None = Field(default=None, max_length=1000)
    status_from: CommitmentStatus | None = enum_field(CommitmentStatus, default=None, nullable=True, length=12)
    status_to: CommitmentStatus | None = enum_field(CommitmentStatus, default=None, nullable=True, length=12)
    value: float | None = None  # the figure measured, for a measured commitment (backend/commitments)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class OverdueAlert(TableBase, table=True):
    """One row per alert sent, so the daily job is safe to rerun: at most one per level and due date."""

    __tablename__ = "overdue_alert"
    __table_args__ = (UniqueConstraint("letter_recipient_id", "level", "due_on"),)
    letter_recipient_id: int = Field(foreign_key="letter_recipient.id", index=True, ondelete="CASCADE")
    level: AlertLevel = enum_field(AlertLevel, length=12)
    due_on: date
    alerted_at: datetime = datetime_field(nullable=False)
