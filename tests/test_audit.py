"""The audit log: an append-only hash chain that stays one chain under concurrent writers."""

from __future__ import annotations

import itertools
import threading
from typing import Any

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
