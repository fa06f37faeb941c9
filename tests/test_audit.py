"""The audit log: an append-only hash chain that stays one chain under concurrent writers."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from sqlmodel import col, select


def test_the_chain_verifies_and_an_altered_event_breaks_it(engine: Any, db: Any) -> None:
    from backend.audit import service as audit
    from backend.audit.models import AuditEvent
    from backend.db import session_for_write

    with session_for_write(engine) as session:
        audit.record(session=session, action="letter_created", actor="user 1", subject_type="letter", subject_id=1)
        audit.record_many(session=session, events=[
            audit.Event(action="signature_submitted", subject_type="signature", subject_id=n, details={"n": n})
            for n in range(3)])
        session.commit()
    events = db.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [e.action for e in events] == ["letter_created"] + ["signature_submitted"] * 3
    assert events[0].prev_hash == audit.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert audit.verify_chain(session=db)

    events[2].details = '{"n": 99}'  # someone edits the log behind the app's back
    db.add(events[2])
    db.commit()
    assert not audit.verify_chain(session=db)


@pytest.mark.real_commits
def test_concurrent_writers_append_to_one_chain(engine: Any, db: Any) -> None:
    """Eight threads, each appending batches in transactions of their own (on PostgreSQL: the advisory lock and
    the chain's end read in one round trip; on SQLite: one writer at a time)."""
    from backend.audit import service as audit
    from backend.audit.models import AuditEvent
    from backend.db import session_for_write

    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            start.wait()
            for batch in range(15):
                with session_for_write(engine) as session:
                    audit.record_many(session=session, events=[
                        audit.Event(action="signature_submitted", actor=f"writer {n}", subject_type="signature",
                                    subject_id=batch * 10 + k) for k in range(3)])
                    session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    hashes = db.exec(select(AuditEvent.prev_hash)).all()
    assert len(hashes) == 8 * 15 * 3 and len(set(hashes)) == len(hashes)  # no two events follow the same one
    assert audit.verify_chain(session=db)


def test_erasing_a_value_leaves_the_chain_verifiable_and_the_value_gone(engine: Any, db: Any) -> None:
    """Personal values are sealed by salted digests: erasure removes the value and its salt, the chain holds."""
    from backend.audit import service as audit
    from backend.audit.models import AuditEvent
    from backend.db import session_for_write

    with session_for_write(engine) as session:
        audit.record(session=session, action="signature_confirmed", actor="signatory jo@example.org",
                     subject_type="signature", subject_id=7, ip="203.0.113.9", details={"name": "Jo Bloggs"})
        audit.record(session=session, action="letter_saved", actor="user:1 staff@example.org", subject_type="letter",
                     subject_id=1, details={"version": 2})
        session.commit()
    with session_for_write(engine) as session:
        found = audit.events_mentioning(session=session, needles=["jo@example.org", "Jo Bloggs"])
        assert list(found.values()) == [{"actor", "ip", "details"}]
        assert audit.erase_values(session=session, fields_by_event=found, actor="system", reason="test") == 3
        session.commit()
    events = db.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    text = " ".join(f"{e.actor} {e.ip} {e.details} {e.seal} {e.salts}" for e in events)
    assert "jo@example.org" not in text and "Jo Bloggs" not in text and "203.0.113.9" not in text
    assert events[-1].action == audit.ERASURE_ACTION and events[0].actor == "erased"
    assert events[1].actor == "user:1 staff@example.org"  # others' values stay
    assert audit.verify_chain(session=db)

    events[1].details = '{"version": 3}'  # an edited event still breaks the chain
    db.add(events[1])
    db.commit()
    assert not audit.verify_chain(session=db)


def test_a_value_blanked_behind_the_apps_back_breaks_the_chain(engine: Any, db: Any) -> None:
    """Only an erasure recorded in the chain itself may blank a value."""
    import json

    from backend.audit import service as audit
    from backend.audit.models import AuditEvent
    from backend.db import session_for_write

    with session_for_write(engine) as session:
        audit.record(session=session, action="login", actor="user:3 sam@example.org", ip="198.51.100.2")
        session.commit()
    event = db.exec(select(AuditEvent)).one()
    event.actor = "erased"
    salts = json.loads(event.salts)
    del salts["actor"]
    event.salts = json.dumps(salts)
    db.add(event)
    db.commit()
    assert not audit.verify_chain(session=db)


def test_the_migration_reseals_a_chain_written_before_values_were_sealed(tmp_path: Any) -> None:
    """An old chain (values hashed as they are) is rewritten in the sealed form and verifies, and can be erased."""
    import json

    from alembic.config import Config
    from sqlalchemy import create_engine, text
    from sqlmodel import Session

    from alembic import command
    from backend.audit import service as audit
    from backend.db import utcnow

    url = f"sqlite:///{tmp_path}/old.db"
    config = Config("alembic.ini")
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0004")
    old_engine = create_engine(url)
    prev = audit.GENESIS
    with old_engine.begin() as conn:
        for n in range(3):
            row = type("Row", (), {"actor": f"signatory p{n}@example.org", "action": "signature_confirmed",
                                   "subject_type": "signature", "subject_id": n, "at": utcnow(), "ip": "192.0.2.1",
                                   "details": json.dumps({"n": n})})()
            digest = audit._legacy_digest(prev, row)
            conn.execute(text("INSERT INTO audit_event (created_at, updated_at, actor, action, subject_type, "
                              "subject_id, at, ip, details, prev_hash, hash) VALUES (:at, :at, :actor, :action, "
                              ":st, :sid, :at, :ip, :details, :prev, :hash)"),
                         {"at": row.at, "actor": row.actor, "action": row.action, "st": "signature", "sid": n,
                          "ip": row.ip, "details": row.details, "prev": prev, "hash": digest})
            prev = digest
    command.upgrade(config, "0010")
    with Session(old_engine) as session:
        assert audit.verify_chain(session=session)
        found = audit.events_mentioning(session=session, needles=["p1@example.org"])
        audit.erase_values(session=session, fields_by_event=found, actor="system", reason="test")
        session.commit()
        assert audit.verify_chain(session=session)
    old_engine.dispose()
