"""The audit log: append-only, each event carrying the hash of the one before.

The personal values of an event (`actor`, `ip`, `details`) are not chained themselves: each is committed to by a
salted digest kept in `seal`, and the chain covers the digests. Erasing a value removes it and its salt (kept in
`salts`), so the chain still verifies and what was erased can no longer be confirmed by guessing it."""

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
    # JSON {"actor": digest, "ip": digest, "details": digest}; NULL on events written before values were sealed.
    seal: str | None = Field(default=None, sa_type=Text)  # type: ignore[call-overload]
    # JSON {field: salt} of the values still held; an erased value's salt goes with it.
    salts: str | None = Field(default=None, sa_type=Text)  # type: ignore[call-overload]
