"""Measured commitments: the public documents promises come from, numbers (baseline, target), edit history of
evidence, and the sent-alert rows of the daily reminders.

A commitment itself is `backend.responses.models.Commitment`; it comes from a recorded response or from a
`PublicDocument` attached to the letter. A commitment with no `CommitmentMeasure` row is tracked as before.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.commitments.enums import AlertKind, Direction, Unit


class PublicDocument(TableBase, table=True):
    """A public document attached to a letter that commitments come from: an action plan, a press release."""

    __tablename__ = "public_document"
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=300)
    publisher: str = Field(max_length=200)
    published_on: date
    url: str = Field(max_length=1000)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class CommitmentMeasure(TableBase, table=True):
    """The numbers of a measured commitment: what is counted, where it started and where it should get to."""

    __tablename__ = "commitment_measure"
    commitment_id: int = Field(foreign_key="commitment.id", unique=True, ondelete="CASCADE")
    metric: str = Field(max_length=300)
    unit: Unit = enum_field(Unit, length=10)
    unit_label: str = Field(default="", max_length=40)  # the free unit's name ("officers", "hours")
    direction: Direction = enum_field(Direction, length=4)
    baseline_value: float | None = None
    baseline_on: date | None = None
    baseline_url: str | None = Field(default=None, max_length=1000)
    target_value: float
    target_on: date


class EvidenceRevision(TableBase, table=True):
    """An evidence update as it was before an edit (so no value is ever silently rewritten)."""

    __tablename__ = "commitment_evidence_revision"
    evidence_id: int = Field(foreign_key="commitment_evidence.id", index=True, ondelete="CASCADE")
    snapshot: str = Field(sa_type=Text)  # type: ignore[call-overload]
    edited_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class CommitmentAlert(TableBase, table=True):
    """One row per reminder sent to the lead, so the daily job is safe to rerun."""

    __tablename__ = "commitment_alert"
    __table_args__ = (
        UniqueConstraint("commitment_id", "kind", "about_on"),
    )
    commitment_id: int = Field(foreign_key="commitment.id", index=True, ondelete="CASCADE")
    kind: AlertKind = enum_field(AlertKind, length=16)
    about_on: date  # the target date passed, or the date of the last evidence the silence is counted from
    alerted_at: datetime = datetime_field(nullable=False)
