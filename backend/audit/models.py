"""The audit log: append-only, each event carrying the hash of the one before."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field

from backend.base import TableBase, datetime_field


class AuditEvent(TableBase, table=True):
    __tablename__ = "audit_event"
    actor: str = Field(max_length=300)  # "user:12 alice@example.org", "signatory:5", "anonymous", "system"
    actor_user_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=80, index=True)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: int | None = Field(default=None)
    at: datetime = datetime_field(nullable=False, index=True)
    ip: str | None = Field(default=None, max_length=64)
    details: str = Field(default="{}", sa_type=Text)  # type: ignore[call-overload]
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
