"""The retention job on fixed clocks: what goes when, once, and what the audit log says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from tests.privacy.helpers import tables_holding
from tests.publishing.helpers import ready_letter


def _retention_events(db: Any) -> list[Any]:
    import json

    from backend.audit.models import AuditEvent

    db.rollback()
    db.expire_all()
    return [json.loads(e.details) for e in db.exec(select(AuditEvent).where(AuditEvent.action == "retention_purged")
                                                  .order_by(col(AuditEvent.id)))]


def test_retention_on_fixed_clocks(db: Any, make_user: Any, engine: Any, clock: Any, deliver: Any,
                                   smtp: Any) -> None:
    from backend.accounts import service as accounts
    from backend.audit import service as audit
    from backend.config import get_settings
    from backend.db import session_for_write
    from backend.mail.models import OutboundAttachment, OutboundEmail
    from backend.privacy import retention
    from backend.publishing import service as publishing
    from backend.publishing.models import PressDownload, PressLink
    from backend.signatures.models import Signature

    settings = get_settings().model_copy(update={
        "retention_contact_email_days": 365, "retention_ip_days": 90, "retention_email_body_days": 30,
        "retention_press_download_days": 60})
    ready = ready_letter(db, make_user)
    ivy = ready.signatures[3]
    audit.record(session=db, action="signature_confirmed", actor=f"signatory {ivy.contact_email}",
                 subject_type="signature", subject_id=ivy.id, ip="203.0.113.7", details={"content_hash": "abc"})
    audit.record(session=db, action="login", actor="user:1 lead@lead.example", ip="198.51.100.4")
    accounts.start_session(session=db, settings=settings, user=ready.lead, ip="198.51.100.5",
                           user_agent="TestBrowser/1.0")
    publishing.publish(session=db, letter=ready.letter, user=ready.lead, ip="192.0.2.50")
    link = PressLink(letter_id=ready.letter.id, journalist="Jo", outlet="Daily", email="jo@daily.example",
                     token_hash="x" * 64)
    db.add(link)
    db.flush()
    db.add(PressDownload(press_link_id=link.id, file="press-pack.zip", ip="203.0.113.99"))
    db.commit()
    assert deliver() == 4  # the publication emails
    sent = db.exec(select(OutboundEmail)).first()
    db.add(OutboundAttachment(email_id=sent.id, filename="letter.pdf", content_type="application/pdf",
                              data=b"Ivy Individual"))
    db.commit()

    def run() -> dict[str, Any]:
        with session_for_write(engine) as session:
            counts = retention.purge_expired(session=session, settings=settings)
            session.commit()
        return counts

    assert not any(run().values()) and _retention_events(db) == []  # nothing is due yet, nothing is said

    clock(timedelta(days=31))  # delivered emails lose their bodies and attachments
    assert run()["email_bodies"] == 4
    db.rollback()
    db.expire_all()
    assert all(e.text == "" and e.html == "" for e in db.exec(select(OutboundEmail)))
    assert db.exec(select(OutboundAttachment)).all() == []
    assert not any(run().values())
    assert len(_retention_events(db)) == 1  # the second run removed nothing and said nothing

    clock(timedelta(days=61))
    counts = run()
    assert counts["press_download_ips"] == 1, counts
    assert tables_holding(engine, "203.0.113.99") == []
    assert tables_holding(engine, "203.0.113.7")  # a signatory's address is kept 90 days after publication

    clock(timedelta(days=91))
    counts = run()
    assert counts["audit_values"] == 3  # the signatory's, the login's and the publisher's addresses
    assert counts["login_addresses"] == 1 and tables_holding(engine, "198.51.100.5", "TestBrowser") == []
    assert tables_holding(engine, "203.0.113.7", "198.51.100.4", "192.0.2.50") == []
    assert tables_holding(engine, ivy.contact_email)  # contact emails are kept a year

    clock(timedelta(days=366))
    counts = run()
    assert counts["contact_emails"] == 5  # four listed and one pending signature
    assert tables_holding(engine, "@sig.example", "pam@pending.example") == []
    db.rollback()
    db.expire_all()
    assert db.get(Signature, ivy.id).display_name == "Ivy Individual"  # the listing stays
    assert not any(run().values())
    events = _retention_events(db)
    assert len(events) == 4 and events[-1]["contact_emails"] == 5 and events[-1]["settings"]["ip_days"] == 90
    assert audit.verify_chain(session=db)


def test_the_worker_runs_the_retention_job(engine: Any, db: Any, settings: Any) -> None:
    from backend import worker
    from backend.privacy import jobs

    worker.load_jobs()
    assert ("retention", jobs.purge_expired) in worker._jobs
    assert worker._every["retention"] == 24 * 60 * 60  # daily, the first time at the worker's first tick
    jobs.purge_expired(engine, settings)  # an empty database: nothing to remove, and no error
    worker._last_run.pop("retention", None)
    assert worker._due("retention", 1000.0) and not worker._due("retention", 1000.0 + 3600)
    assert worker._due("retention", 1000.0 + 24 * 60 * 60)
