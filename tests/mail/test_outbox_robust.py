"""The outbox never wedges and never sends twice: the review's findings, each reproduced."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from backend.db import insert_row, utcnow
from backend.mail import sender, service
from backend.mail.models import OutboundEmail


def _queue(db, n: int, prefix: str = "person") -> None:
    for i in range(n):
        service.enqueue(session=db, to=f"{prefix}{i}@example.org", template="test_message",
                        context={"name": f"Person {i}", "link": f"http://testserver/x/{i}"})
    db.commit()


def _raw_row(db, to: str) -> int:
    """A row as it could be in an outbox filled before addresses were checked at the door."""
    rendered = service.render_email("test_message", {"name": "Raw", "link": "http://testserver/"})
    email_id = insert_row(db, OutboundEmail, {
        "to_address": to, "template": "test_message", "subject": rendered.subject, "text": rendered.text,
        "html": rendered.html, "next_attempt_at": utcnow(), "message_id": service._message_id()})
    db.commit()
    return email_id


def _rows(db) -> list[OutboundEmail]:
    db.rollback()  # a fresh snapshot (SQLite's WAL keeps a reading transaction's view)
    rows = list(db.exec(select(OutboundEmail).order_by(OutboundEmail.id)))
    for row in rows:
        db.refresh(row)
    return rows


@pytest.mark.parametrize("bad_address", ["jösé@example.org", "", "not an address"])
def test_one_unsendable_address_among_50_does_not_stop_the_other_49(db, smtp, deliver, bad_address):
    _queue(db, 24, prefix="before")
    bad = _raw_row(db, bad_address)
    _queue(db, 25, prefix="after")
    assert deliver() == 49
    assert len(smtp.wait_for(49)) == 49
    rows = {r.id: r for r in _rows(db)}
    assert rows[bad].status == "failed" and rows[bad].last_error
    assert all(r.status == "sent" for i, r in rows.items() if i != bad)
    assert deliver() == 0, "the failed row is not claimed again"


def test_any_exception_while_building_one_message_is_that_rows_outcome(db, smtp, deliver, monkeypatch):
    _queue(db, 50)
    poison = _rows(db)[17].id
    build = sender._build_message

    def flaky(row, attachments, settings, **kwargs):  # a bug in building one message, whatever it is
        if row.id == poison:
            raise RuntimeError("something nobody foresaw")
        return build(row, attachments, settings, **kwargs)

    monkeypatch.setattr(sender, "_build_message", flaky)
    assert deliver() == 49
    rows = {r.id: r for r in _rows(db)}
    assert rows[poison].status == "failed"
    assert "RuntimeError: something nobody foresaw" in (rows[poison].last_error or "")
    assert sum(r.status == "sent" for r in rows.values()) == 49
    assert not [r for r in rows.values() if r.status == "sending"]


def test_a_row_left_sending_past_its_lease_too_often_is_failed_not_claimed_forever(db, engine, settings):
    _queue(db, 1)
    [row] = _rows(db)
    row.status, row.attempts = "sending", settings.outbox_max_attempts
    row.lease_expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    assert sender.claim(engine=engine, batch_size=10, lease_seconds=60,
                        max_attempts=settings.outbox_max_attempts) == []
    db.refresh(row)
    assert row.status == "failed" and "lease" in (row.last_error or "")


def test_a_row_another_worker_now_owns_is_given_up_not_sent(db, smtp, engine, settings):
    _queue(db, 3)
    claimed = sender.claim(engine=engine, batch_size=10, lease_seconds=60)
    taken = claimed[1][0]
    # Our lease on one row expired while we were stalled, and another worker claimed it.
    row = db.get(OutboundEmail, taken)
    row.lease_expires_at = utcnow() + timedelta(seconds=300)
    db.add(row)
    db.commit()
    assert sender.deliver(engine=engine, claimed=claimed, settings=settings) == 2
    received = smtp.wait_for(2)
    assert row.to_address not in [m.envelope_to[0] for m in received]
    db.refresh(row)
    assert row.status == "sending", "left to the worker that owns it"


@pytest.mark.real_commits
def test_leases_are_renewed_while_a_slow_batch_runs(db, smtp, engine, settings):
    custom = settings.model_copy(update={"outbox_lease_seconds": 2, "outbox_batch_size": 10})
    smtp.delay = 0.4  # ten messages take 4 s: twice the lease
    _queue(db, 10)
    done = threading.Event()
    stolen: list[int] = []

    def rival() -> None:
        while not smtp.received and not done.is_set():  # once the batch is claimed and under way
            time.sleep(0.02)
        while not done.is_set():
            for email_id, _lease in sender.claim(engine=engine, batch_size=10, lease_seconds=2):
                stolen.append(email_id)
            time.sleep(0.1)

    thread = threading.Thread(target=rival)
    thread.start()
    try:
        assert sender.drain(engine=engine, settings=custom) == 10
    finally:
        done.set()
        thread.join()
    assert stolen == [], "a rival worker could claim rows of a batch still being sent"
    ids = [m.message["Message-ID"] for m in smtp.wait_for(10)]
    assert len(ids) == len(set(ids)) == 10


@pytest.mark.real_commits
def test_two_workers_slow_relay_short_lease_each_of_200_delivered_exactly_once(db, smtp, settings):
    """The review's case: two worker processes on PostgreSQL, a relay taking 0.5 s a message, a 5 s lease."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL)")
    _queue(db, 200, prefix="slow")
    smtp.delay = 0.5
    env = {**os.environ, "DATABASE_URL": settings.database_url, "OUTBOX_LEASE_SECONDS": "5",
           "OUTBOX_BATCH_SIZE": "50"}
    procs = [subprocess.Popen([sys.executable, "-m", "backend.cli", "worker", "--once"], env=env)
             for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=240) == 0
    received = smtp.wait_for(200, timeout=30)
    time.sleep(1)
    ids = [m.message["Message-ID"] for m in smtp.received]
    assert len(ids) == 200, f"{len(ids) - len(set(ids))} message(s) delivered twice"
    assert len(set(ids)) == 200
    assert len(received) == 200
    assert all(r.status == "sent" for r in _rows(db))


def test_production_refuses_to_start_without_smtp_host_unless_capture_is_asked_for():
    from backend.config import Settings

    secret = "x" * 40
    prod = {"environment": "production", "secret_key": secret, "fast_password_hashing": False, "_env_file": None}
    with pytest.raises(ValidationError, match="SMTP_HOST"):
        Settings(**prod, smtp_host=None)  # type: ignore[arg-type]
    assert Settings(**prod, smtp_host=None, mail_capture=True).mail_capture  # type: ignore[arg-type]
    assert Settings(**prod, smtp_host="relay.example.org").smtp_host  # type: ignore[arg-type]
