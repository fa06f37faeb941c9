"""Writes audit events into an append-only hash chain."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import func, or_
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


PERSONAL_FIELDS = ("actor", "ip", "details")
ERASED = {"actor": "erased", "ip": None, "details": '{"erased": true}'}
ERASURE_ACTION = "audit_values_erased"


def _legacy_digest(prev_hash: str, event: Any) -> str:
    """The hash of an event written before personal values were sealed (its values chained as they are)."""
    at = as_utc(event.at)  # SQLite hands the time back naive: hash it as the UTC time it was written as
    assert at is not None
    payload = json.dumps(
        [prev_hash, event.actor, event.action, event.subject_type, event.subject_id,
         at.isoformat(), event.ip, event.details],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def value_digest(salt: str, field: str, value: Any) -> str:
    """The salted commitment to one personal value: the chain holds this, not the value."""
    return hashlib.sha256(f"{salt}:{field}:{json.dumps(value)}".encode()).hexdigest()


def seal_values(values: dict[str, Any]) -> tuple[str, str]:
    """(seal, salts) as stored for an event's personal values: a fresh 128-bit salt per value."""
    salts = {field: secrets.token_hex(16) for field in PERSONAL_FIELDS}
    seal = {field: value_digest(salts[field], field, values[field]) for field in PERSONAL_FIELDS}
    return json.dumps(seal, sort_keys=True), json.dumps(salts, sort_keys=True)


def _digest(prev_hash: str, event: Any) -> str:
    if event.seal is None:
        return _legacy_digest(prev_hash, event)
    at = as_utc(event.at)
    assert at is not None
    payload = json.dumps(
        [prev_hash, event.action, event.subject_type, event.subject_id, event.actor_user_id, at.isoformat(),
         event.seal],
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


class Person(Protocol):
    """Whoever acted: an account (backend.accounts.models.User), named without importing it."""

    id: int | None
    email: str


def actor_of(user: Person) -> str:
    """How an account is named in the audit log."""
    return f"user:{user.id} {user.email}"


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
        row.seal, row.salts = seal_values(vars(row))
        row.hash = prev = _digest(prev, row)
        rows.append(vars(row))
    insert_rows(session, AuditEvent, rows)


def _values_match(event: AuditEvent) -> bool:
    """Each personal value still held matches its sealed digest; each erased one is blank."""
    seal = json.loads(event.seal or "{}")
    salts = json.loads(event.salts or "{}")
    for field in PERSONAL_FIELDS:
        value = getattr(event, field)
        if field in salts:
            if value_digest(salts[field], field, value) != seal.get(field):
                return False
        elif value != ERASED[field]:
            return False
    return True


def verify_chain(*, session: Session) -> bool:
    """True when no event was altered or removed from the middle of the log.

    A personal value may have been erased (its digest stays in the chain), but only by `erase_values`, which
    names each event it erased in a later event of the chain itself.
    """
    prev = GENESIS
    erased: set[int] = set()
    accounted: set[int] = set()
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.prev_hash != prev or _digest(prev, event) != event.hash:
            return False
        if event.seal is not None:
            if not _values_match(event):
                return False
            if len(json.loads(event.salts or "{}")) < len(PERSONAL_FIELDS):
                assert event.id is not None
                erased.add(event.id)
        if event.action == ERASURE_ACTION:
            accounted.update(int(i) for i in json.loads(event.details).get("events", {}))
        prev = event.hash
    return erased <= accounted


def erase_values(*, session: Session, fields_by_event: dict[int, set[str]], actor: str, reason: str,
                 actor_user_id: int | None = None) -> int:
    """Erases personal values from events (the value and its salt; the digest stays in the chain) and records
    which, by event id and field name only. Returns the number of values erased."""
    count = 0
    erased: dict[str, list[str]] = {}
    for event_id, fields in sorted(fields_by_event.items()):
        event = session.get(AuditEvent, event_id)
        if event is None or event.seal is None or event.action == ERASURE_ACTION:
            continue
        salts = json.loads(event.salts or "{}")
        gone = sorted(f for f in fields if f in salts)
        if not gone:
            continue
        for field in gone:
            setattr(event, field, ERASED[field])
            del salts[field]
        event.salts = json.dumps(salts, sort_keys=True)
        session.add(event)
        erased[str(event_id)] = gone
        count += len(gone)
    if erased:
        session.flush()
        record(session=session, action=ERASURE_ACTION, actor=actor, actor_user_id=actor_user_id,
               details={"events": erased, "reason": reason})
    return count


def events_mentioning(*, session: Session, needles: list[str],
                      subjects: Sequence[tuple[str, int]] = ()) -> dict[int, set[str]]:
    """The personal fields of events that hold any of these values (emails, names; case-insensitive), and who
    acted and from where on events about these subjects done by their signatory: what `erase_values` should
    erase for one person. Details without their values stay (the version and content hash they approved)."""
    found: dict[int, set[str]] = {}
    needles = [n.strip().lower() for n in needles if n and len(n.strip()) >= 3]
    conditions: list[Any] = []
    for needle in needles:
        pattern = f"%{needle}%"
        conditions += [func.lower(AuditEvent.actor).like(pattern), func.lower(AuditEvent.details).like(pattern),
                       func.lower(AuditEvent.ip).like(pattern)]
    for subject_type, subject_id in subjects:
        conditions.append((col(AuditEvent.subject_type) == subject_type) & (col(AuditEvent.subject_id) == subject_id))
    if not conditions:
        return found
    query = select(AuditEvent).where(or_(*conditions), col(AuditEvent.action) != ERASURE_ACTION)
    subject_set = set(subjects)
    for event in session.exec(query):
        assert event.id is not None
        fields: set[str] = set()
        actor_hit = any(n in event.actor.lower() for n in needles)
        if actor_hit:
            fields |= {"actor", "ip"}  # the person's own action: where they acted from is theirs too
        if any(n in event.details.lower() for n in needles):
            fields.add("details")
        if (event.subject_type, event.subject_id) in subject_set and event.actor.startswith("signatory"):
            fields |= {"actor", "ip"}
        if fields:
            found[event.id] = fields
    return found
