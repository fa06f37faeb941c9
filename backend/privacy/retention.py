"""Retention: personal data kept only as long as the settings say, removed by a daily job.

Contact emails (of signatures and invites) and IP addresses of what signatories did count from the letter's
publication, or its closure when it was closed without being published; other IP addresses in the audit log from
the event. Delivered emails lose their bodies and attachments, press download logs their addresses. Each run
removes only what is still there, so running it again (or in two workers at once) removes nothing twice, and it
says in the audit log what it removed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from backend.accounts.models import UserSession
from backend.audit import service as audit
from backend.audit.models import AuditEvent
from backend.config import Settings
from backend.db import as_utc, utcnow
from backend.letters.models import Letter
from backend.mail.models import OutboundAttachment, OutboundEmail
from backend.publishing.models import PressDownload
from backend.signatures.models import Invite, Signature

CLOSED_ACTION = "letter_closed_for_signatures"
LETTER_SUBJECTS = ("signature", "invite")


def _ended_at(session: Session) -> dict[int, datetime]:
    """When each published or closed letter stopped collecting: its publication, else its last closure."""
    ended: dict[int, datetime] = {}
    for letter_id, published_at in session.exec(select(Letter.id, Letter.published_at)
                                                .where(col(Letter.published_at).is_not(None))):
        ended[letter_id] = as_utc(published_at)  # type: ignore[assignment,index]
    closures = session.exec(
        select(AuditEvent.subject_id, func.max(AuditEvent.at))
        .join(Letter, col(Letter.id) == AuditEvent.subject_id)
        .where(AuditEvent.action == CLOSED_ACTION, AuditEvent.subject_type == "letter")
        .where(col(Letter.status).in_(("closed", "archived")), col(Letter.published_at).is_(None))
        .group_by(col(AuditEvent.subject_id)))
    for letter_id, closed_at in closures:
        if letter_id is not None:
            ended.setdefault(letter_id, as_utc(closed_at))  # type: ignore[arg-type]
    return ended


def _expired_letters(ended: dict[int, datetime], now: datetime, days: int) -> list[int]:
    return [letter_id for letter_id, at in ended.items() if at <= now - timedelta(days=days)]


def _purge_contact_emails(session: Session, letter_ids: list[int]) -> int:
    if not letter_ids:
        return 0
    count = 0
    addresses: set[str] = set()
    for signature in session.exec(select(Signature).where(col(Signature.letter_id).in_(letter_ids))
                                  .where(Signature.contact_email != "")):
        addresses.add(signature.contact_email.lower())
        signature.contact_email = ""
        signature.email_key = f"erased:{signature.id}"
        signature.notify_updates = False
        session.add(signature)
        count += 1
    addresses |= {e.lower() for e in session.exec(select(Invite.email).where(col(Invite.letter_id).in_(letter_ids))
                                                  .where(col(Invite.email) != ""))}
    result = session.execute(update(Invite).where(col(Invite.letter_id).in_(letter_ids)).where(col(Invite.email) != "")
                             .values(email=""))
    count += int(result.rowcount or 0)  # type: ignore[attr-defined]
    if addresses:  # mail already sent (or given up on) to these addresses keeps no address either
        session.execute(update(OutboundEmail).where(func.lower(OutboundEmail.to_address).in_(sorted(addresses)))
                        .where(col(OutboundEmail.status).in_(("sent", "failed"))).values(to_address=""))
    return count


def _letter_of_subjects(session: Session, events: list[AuditEvent]) -> dict[tuple[str, int], int]:
    """The letter of each signature or invite named by these events."""
    ids: dict[str, set[int]] = {kind: set() for kind in LETTER_SUBJECTS}
    for event in events:
        if event.subject_type in ids and event.subject_id is not None:
            ids[event.subject_type].add(event.subject_id)
    found: dict[tuple[str, int], int] = {}
    for kind, model in (("signature", Signature), ("invite", Invite)):
        if ids[kind]:
            rows = session.exec(select(model.id, model.letter_id).where(col(model.id).in_(ids[kind])))  # type: ignore[attr-defined]
            found.update({(kind, row_id): letter_id for row_id, letter_id in rows if row_id is not None})
    return found


def _audit_values(session: Session, *, ended: dict[int, datetime], now: datetime, settings: Settings,
                  contact_letters: set[int]) -> dict[int, set[str]]:
    """Audit values past their time: IP addresses, and the signatory's own email as the actor of their events."""
    held = list(session.exec(select(AuditEvent).where(col(AuditEvent.action) != audit.ERASURE_ACTION)
                             .where(col(AuditEvent.salts).is_not(None))
                             .where((col(AuditEvent.ip).is_not(None)) | (col(AuditEvent.actor).like("signatory %")))))
    letters = _letter_of_subjects(session, held)
    ip_before = now - timedelta(days=settings.retention_ip_days)
    fields_by_event: dict[int, set[str]] = {}
    for event in held:
        assert event.id is not None
        salts = event.salts or ""
        key = (event.subject_type or "", event.subject_id or 0)
        letter_id = letters.get(key) if event.subject_type in LETTER_SUBJECTS else None
        fields: set[str] = set()
        if event.ip is not None and '"ip"' in salts:
            if letter_id is not None:
                ended_at = ended.get(letter_id)
                if ended_at is not None and ended_at <= ip_before:
                    fields.add("ip")
            elif (as_utc(event.at) or now) <= ip_before:
                fields.add("ip")
        if event.actor.startswith("signatory ") and letter_id in contact_letters and '"actor"' in salts:
            fields.add("actor")
        if fields:
            fields_by_event[event.id] = fields
    return fields_by_event


def _purge_email_bodies(session: Session, before: datetime) -> int:
    expired = (select(OutboundEmail.id).where(OutboundEmail.status == "sent")
               .where(col(OutboundEmail.sent_at) <= before)
               .where((OutboundEmail.text != "") | (OutboundEmail.html != "")))
    ids = list(session.exec(expired))
    if not ids:
        return 0
    session.execute(delete(OutboundAttachment).where(col(OutboundAttachment.email_id).in_(ids)))
    session.execute(update(OutboundEmail).where(col(OutboundEmail.id).in_(ids)).values(text="", html=""))
    return len(ids)


def _purge_session_addresses(session: Session, before: datetime) -> int:
    """Log-ins keep where they came from (IP address and browser) only as long as other IP addresses."""
    result = session.execute(update(UserSession).where(col(UserSession.created_at) <= before)
                             .where(col(UserSession.ip).is_not(None) | col(UserSession.user_agent).is_not(None))
                             .values(ip=None, user_agent=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _purge_press_downloads(session: Session, before: datetime) -> int:
    result = session.execute(update(PressDownload).where(col(PressDownload.created_at) <= before)
                             .where(col(PressDownload.ip) != "").values(ip=""))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired(*, session: Session, settings: Settings) -> dict[str, Any]:
    """Removes what the retention settings no longer allow; returns (and audits, when anything went) the counts."""
    now = utcnow()
    ended = _ended_at(session)
    contact_letters = _expired_letters(ended, now, settings.retention_contact_email_days)
    fields_by_event = _audit_values(session, ended=ended, now=now, settings=settings,
                                    contact_letters=set(contact_letters))
    counts = {
        "contact_emails": _purge_contact_emails(session, contact_letters),
        "email_bodies": _purge_email_bodies(session, now - timedelta(days=settings.retention_email_body_days)),
        "press_download_ips": _purge_press_downloads(
            session, now - timedelta(days=settings.retention_press_download_days)),
        "login_addresses": _purge_session_addresses(session, now - timedelta(days=settings.retention_ip_days)),
        "audit_values": audit.erase_values(session=session, fields_by_event=fields_by_event, actor="system",
                                           reason="retention"),
    }
    if any(counts.values()):
        audit.record(session=session, action="retention_purged", actor="system",
                     details={**counts, "settings": {
                         "contact_email_days": settings.retention_contact_email_days,
                         "ip_days": settings.retention_ip_days,
                         "email_body_days": settings.retention_email_body_days,
                         "press_download_days": settings.retention_press_download_days}})
    return counts
