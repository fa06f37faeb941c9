"""Writes audit events into an append-only hash chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.audit.models import AuditEvent
from backend.db import as_utc, insert_rows, utcnow

GENESIS = "0" * 64
_events = AuditEvent.__table__  # type: ignore[attr-defined]
_LAST_HASH = sa_select(_events.c.hash).order_by(_events.c.id.desc()).limit(1)
# PostgreSQL: appends are serialised so the chain never forks under concurrent writers. Two statements in one
# round trip (the simple query protocol, no parameters); the second takes its snapshot after the first has
# the lock (READ COMMITTED: a snapshot per statement), so it sees the chain's end as the last holder left it.
_LOCK_AND_LAST_HASH_PG = "SELECT pg_advisory_xact_lock(7263001); SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1"


def _lock_and_last_hash(session: Session) -> str:
    """The hash at the end of the chain, once this transaction may append to it."""
    connection = session.connection()  # Core, not the ORM: nearly every change writes here
    if connection.dialect.name != "postgresql":
        # SQLite has one writer at a time, and a transaction that read an older end cannot write at all.
        return connection.execute(_LAST_HASH).scalar() or GENESIS
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(_LOCK_AND_LAST_HASH_PG)
        cursor.nextset()
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row[0] if row else GENESIS


def _digest(prev_hash: str, event: Any) -> str:
    at = as_utc(event.at)  # SQLite hands the time back naive: hash it as the UTC time it was written as
    assert at is not None
    payload = json.dumps(
        [prev_hash, event.actor, event.action, event.subject_type, event.subject_id,
         at.isoformat(), event.ip, event.details],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Event:
    """An event for `record_many`."""

    action: str
    actor: str = "system"
    actor_user_id: int | None = None
    subject_type: str | None = None
    subject_id: int | None = None
    ip: str | None = None
    details: dict[str, Any] | None = None


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
) -> None:
    """Appends an event in the caller's transaction; the caller commits."""
    record_many(session=session, events=[Event(action=action, actor=actor, actor_user_id=actor_user_id,
                                               subject_type=subject_type, subject_id=subject_id, ip=ip,
                                               details=details)])


def record_many(*, session: Session, events: list[Event]) -> None:
    """Appends events in this order, in the caller's transaction, in one statement (a batch of sign-ons)."""
    if not events:
        return
    prev = _lock_and_last_hash(session)
    rows = []
    for item in events:
        row = SimpleNamespace(
            actor=item.actor[:300], actor_user_id=item.actor_user_id, action=item.action,
            subject_type=item.subject_type, subject_id=item.subject_id, at=utcnow(), ip=item.ip,
            details=json.dumps(item.details or {}, sort_keys=True, default=str), prev_hash=prev,
        )
        row.hash = prev = _digest(prev, row)
        rows.append(vars(row))
    insert_rows(session, AuditEvent, rows)


def verify_chain(*, session: Session) -> bool:
    """True when no event was altered or removed from the middle of the log."""
    prev = GENESIS
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.prev_hash != prev or _digest(prev, event) != event.hash:
            return False
        prev = event.hash
    return True
