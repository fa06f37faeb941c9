"""Writes audit events into an append-only hash chain."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from backend.audit.models import AuditEvent
from backend.db import utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, event: AuditEvent) -> str:
    payload = json.dumps(
        [prev_hash, event.actor, event.action, event.subject_type, event.subject_id,
         event.at.isoformat(), event.ip, event.details],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    *,
    session: Session,
    action: str,
    actor: str = "system",
    actor_user_id: int | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Appends an event in the caller's transaction; the caller commits."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Serialise appends so the chain never forks under concurrent writers.
        session.execute(text("SELECT pg_advisory_xact_lock(7263001)"))
    last = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    event = AuditEvent(
        actor=actor[:300],
        actor_user_id=actor_user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        at=utcnow(),
        ip=ip,
        details=json.dumps(details or {}, sort_keys=True, default=str),
        prev_hash=last or GENESIS,
        hash="",
    )
    event.hash = _digest(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


def verify_chain(*, session: Session) -> bool:
    """True when no event was altered or removed from the middle of the log."""
    prev = GENESIS
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.prev_hash != prev or _digest(prev, event) != event.hash:
            return False
        prev = event.hash
    return True
