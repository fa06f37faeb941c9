"""The outbox: queued in the transaction, delivered over real SMTP, retried, never doubled."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlmodel import select

from backend.db import utcnow, write_engine
from backend.mail import sender, service
from backend.mail.models import OutboundEmail


def _queue(db, n: int, prefix: str = "person") -> None:
    for i in range(n):
        service.enqueue(session=db, to=f"{prefix}{i}@example.org", template="test_message",
                        context={"name": f"Person {i}", "link": f"http://testserver/x/{i}"})
    db.commit()


def _runs(peers: list) -> int:
    """How many stretches of messages from one connection: as many as connections when sent one after another."""
    return sum(1 for before, after in itertools.pairwise(peers) if before != after) + 1


def _assert_each_sent_at_first_attempt(db) -> None:
    rows = db.exec(select(OutboundEmail)).all()
    for row in rows:
        db.refresh(row)
    assert rows and all(r.status == "sent" and r.attempts == 1 for r in rows)


def _make_due(db) -> None:
    for row in db.exec(select(OutboundEmail)):
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.add(row)
    db.commit()


def test_message_is_delivered_with_text_and_html(db, smtp, deliver):
    _queue(db, 1)
    assert deliver() == 1
    [mail] = smtp.wait_for(1)
    assert mail.subject == "A test message for Person 0"
    assert "http://testserver/x/0" in mail.text
    assert "<strong>Person 0</strong>" in mail.html
    row = db.exec(select(OutboundEmail)).one()
    db.refresh(row)
    assert row.status == "sent" and row.transport == "smtp"
    assert mail.message["Message-ID"] == row.message_id


def test_html_part_escapes_context(db, smtp, deliver):
    service.enqueue(session=db, to="x@example.org", template="test_message",
                    context={"name": "<script>alert(1)</script>", "link": "http://testserver/"})
    db.commit()
    deliver()
    [mail] = smtp.wait_for(1)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html


def test_smtp_outage_keeps_mail_queued_then_delivers_each_once(db, smtp, deliver, engine):
    smtp.stop()
    _queue(db, 50)
    assert deliver() == 0
    rows = db.exec(select(OutboundEmail)).all()
    for row in rows:
        db.refresh(row)
    assert len(rows) == 50
    assert all(r.status == "queued" and r.sent_at is None and r.last_error for r in rows)
    smtp.start()
    _make_due(db)
    assert deliver() == 50
    received = smtp.wait_for(50)
    assert sorted(m.envelope_to[0] for m in received) == sorted(f"person{i}@example.org" for i in range(50))
    assert deliver() == 0  # nothing is sent twice
    assert len(smtp.received) == 50


def test_permanent_rejection_is_recorded_as_failed(db, smtp, deliver):
    smtp.reject = (550, "5.1.1 No such user here")
    _queue(db, 1)
    deliver()
    row = db.exec(select(OutboundEmail)).one()
    db.refresh(row)
    assert row.status == "failed"
    assert "550" in (row.last_error or "") and "No such user" in (row.last_error or "")
    assert smtp.received == []


def test_temporary_rejection_is_retried(db, smtp, deliver):
    smtp.reject = (451, "4.3.0 Try again later")
    _queue(db, 1)
    deliver()
    row = db.exec(select(OutboundEmail)).one()
    db.refresh(row)
    assert row.status == "queued" and row.attempts == 1 and "451" in (row.last_error or "")
    smtp.reject = None
    _make_due(db)
    assert deliver() == 1
    smtp.wait_for(1)


def test_expired_lease_is_picked_up_again(db, smtp, engine, settings):
    _queue(db, 1)
    claimed = sender.claim(engine=engine, batch_size=10, lease_seconds=60)
    assert len(claimed) == 1
    # The worker died: nothing else can claim the row until its lease expires.
    assert sender.claim(engine=engine, batch_size=10, lease_seconds=60) == []
    row = db.exec(select(OutboundEmail)).one()
    row.lease_expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    again = sender.claim(engine=engine, batch_size=10, lease_seconds=60)
    assert [i for i, _ in again] == [i for i, _ in claimed]
    assert sender.deliver(engine=engine, claimed=again, settings=settings) == 1
    db.refresh(row)
    assert row.status == "sent" and row.attempts == 2
    smtp.wait_for(1)
    # A finish under the dead worker's old lease is fenced off: it cannot change the row.
    with write_engine(engine).connect() as connection:
        sender._finish(connection, claimed[0][0], claimed[0][1], {"status": "failed"})
    db.refresh(row)
    assert row.status == "sent"


def test_dedupe_key_queues_once(db, engine):
    """The outbox's unique key refuses a second email with the same key: one INSERT each, nothing looked up
    first, and the caller's transaction goes on."""
    from tests.statements import statements

    queued = []
    with statements(engine) as sent:
        for _ in range(3):
            queued.append(service.enqueue(session=db, to="a@example.org", template="test_message",
                                          context={"name": "A", "link": "http://testserver/"},
                                          dedupe_key="overdue:1:2026-01-01"))
    db.commit()
    assert len(db.exec(select(OutboundEmail)).all()) == 1
    assert queued[0] is not None and queued[1:] == [None, None]
    assert [s.split()[0] for s in sent] == ["INSERT"] * 3, sent


@pytest.mark.real_commits
def test_two_worker_processes_deliver_each_of_500_exactly_once(db, smtp, settings):
    """Two `undersigned worker` processes on one PostgreSQL outbox (FOR UPDATE SKIP LOCKED)."""
    import os
    import subprocess
    import sys

    import pytest

    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL)")
    _queue(db, 500, prefix="bulk")
    env = {**os.environ, "DATABASE_URL": settings.database_url, "OUTBOX_BATCH_SIZE": "20"}
    procs = [subprocess.Popen([sys.executable, "-m", "backend.cli", "worker", "--once"], env=env)
             for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    received = smtp.wait_for(500, timeout=30)
    addresses = [m.envelope_to[0] for m in received]
    assert len(addresses) == 500 and len(set(addresses)) == 500
    _assert_each_sent_at_first_attempt(db)


@pytest.mark.real_commits
def test_a_backlog_goes_out_over_several_connections_at_once_each_message_once(db, smtp, engine, settings):
    custom = settings.model_copy(update={"outbox_batch_size": 10, "outbox_connections": 3})
    smtp.delay = 0.01  # a relay across a network: waiting for it is most of a message's time
    _queue(db, 60, prefix="backlog")
    assert sender.drain(engine=engine, settings=custom) == 60
    received = smtp.wait_for(60)
    addresses = [m.envelope_to[0] for m in received]
    assert sorted(addresses) == sorted(f"backlog{i}@example.org" for i in range(60))
    peers = [m.peer for m in received]
    assert len(set(peers)) == 6, "one connection per batch of 10"
    # Sent one connection after another, each connection's messages would arrive together.
    runs = _runs(peers)
    assert runs > len(set(peers)), f"batches were not sent at the same time: {peers}"
    _assert_each_sent_at_first_attempt(db)


def test_one_connection_when_outbox_connections_is_one(db, smtp, engine, settings):
    custom = settings.model_copy(update={"outbox_batch_size": 10, "outbox_connections": 1})
    _queue(db, 25, prefix="serial")
    assert sender.drain(engine=engine, settings=custom) == 25
    peers = [m.peer for m in smtp.wait_for(25)]
    runs = _runs(peers)
    assert runs == len(set(peers)) == 3


@pytest.mark.real_commits
def test_a_drain_claims_at_most_max_batches_however_many_connections(db, smtp, engine, settings):
    custom = settings.model_copy(update={"outbox_batch_size": 10, "outbox_connections": 3})
    _queue(db, 45, prefix="capped")
    assert sender.drain(engine=engine, settings=custom, max_batches=2) == 20
    assert sender.drain(engine=engine, settings=custom) == 25, "the rest on the next tick"
    _assert_each_sent_at_first_attempt(db)
