"""Drains the outbox over SMTP with the `emails` package.

Rows are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so
several workers never send one row twice, and a worker that dies mid-send leaves a lease that expires. A worker
proves it still owns a row just before sending it and renews its leases while a batch runs (see `deliver`).
Each message's outcome is its own: nothing one message does stops the rest of its batch. A temporary failure
(4xx, connection trouble) is retried with backoff; a permanent one (5xx) is recorded as failed with the server's
message.
"""

from __future__ import annotations

import itertools
import logging
import random
import smtplib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import emails
from emails.backend.smtp.backend import SMTPBackend
from sqlalchemy import Connection, Engine, or_, update
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.db import session_for_write, utcnow, write_engine
from backend.mail import addresses
from backend.mail.models import OutboundAttachment, OutboundEmail

log = logging.getLogger(__name__)


@dataclass
class SendFailure(Exception):
    message: str
    permanent: bool


def claim(*, engine: Engine, batch_size: int, lease_seconds: int,
          max_attempts: int | None = None) -> list[tuple[int, datetime]]:
    """Marks up to `batch_size` due rows as `sending` under a lease; returns (id, lease) pairs.

    With `max_attempts`, a row whose lease ran out that many times (each time a worker died sending it) is
    failed instead of being claimed again forever.
    """
    now = utcnow()
    lease = now + timedelta(seconds=lease_seconds)
    expired = (col(OutboundEmail.status) == "sending") & (col(OutboundEmail.lease_expires_at) < now)
    due = or_((col(OutboundEmail.status) == "queued") & (col(OutboundEmail.next_attempt_at) <= now), expired)
    # Look before taking the write lock: an idle worker polling every second should not hold it.
    with Session(engine) as reader:
        if reader.exec(select(OutboundEmail.id).where(due).limit(1)).first() is None:
            return []
    with session_for_write(engine) as session:
        if max_attempts is not None:
            session.execute(
                update(OutboundEmail)
                .where(expired & (col(OutboundEmail.attempts) >= max_attempts))
                .values(status="failed", lease_expires_at=None,
                        last_error=f"given up: its lease ran out {max_attempts} times without an outcome "
                                   "(a worker stopped while sending it)")
            )
        stmt = (
            select(OutboundEmail.id)
            .where(due)
            .order_by(col(OutboundEmail.next_attempt_at), col(OutboundEmail.id))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        ids = [i for i in session.exec(stmt).all() if i is not None]
        if ids:
            session.execute(
                update(OutboundEmail)
                .where(col(OutboundEmail.id).in_(ids))
                .values(status="sending", lease_expires_at=lease, attempts=OutboundEmail.attempts + 1)
            )
        session.commit()
    return [(i, lease) for i in ids]


def _build_message(row: OutboundEmail, attachments: list[OutboundAttachment], settings: Settings, *,
                   to: str | None = None) -> emails.Message:
    message = emails.Message(
        subject=row.subject,
        mail_from=settings.mail_from,
        mail_to=to or row.to_address,
        text=row.text,
        html=row.html,
        message_id=row.message_id,  # fixed per row, so a retry carries the same Message-ID
        reply_to=row.reply_to,
        headers={"Auto-Submitted": "auto-generated"},
    )
    for item in attachments:
        message.attach(data=item.data, filename=item.filename, content_disposition="attachment",
                       mime_type=item.content_type)
    return message


def _smtp_backend(settings: Settings) -> SMTPBackend:
    return SMTPBackend(
        host=settings.smtp_host,
        port=settings.smtp_port,
        ssl=settings.smtp_ssl,
        tls=settings.smtp_tls,
        user=settings.smtp_user,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout,
        fail_silently=False,
    )


def _send_one(backend: SMTPBackend, message: emails.Message, to: str) -> None:
    try:
        response = message.send(to=to, smtp=backend)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values())
        raise SendFailure(detail, permanent=all(c >= 500 for c in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SendFailure(f"{exc.smtp_code} {text}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailure(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    if response is None or response.status_code != 250:
        code = getattr(response, "status_code", None)
        raise SendFailure(f"SMTP answered {code}", permanent=bool(code and code >= 500))


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 2 hours, with jitter so retries do not stampede."""
    seconds = min(30 * 2 ** max(attempts - 1, 0), 7200)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _finish(connection: Connection, email_id: int, lease: datetime, values: dict[str, object]) -> None:
    """Records one message's outcome in a transaction of its own (see `deliver` for the usual path)."""
    with connection.begin():
        _record(connection, email_id, lease, values)


def _record(connection: Connection, email_id: int, lease: datetime, values: dict[str, object]) -> None:
    # The lease is the fence: if it expired and another worker re-claimed the row, we leave it alone.
    connection.execute(
        update(OutboundEmail)
        .where(col(OutboundEmail.id) == email_id)
        .where(col(OutboundEmail.status) == "sending")
        .where(col(OutboundEmail.lease_expires_at) == lease)
        .values(**values)
    )


def _renew(connection: Connection, leases: dict[int, datetime], ids: list[int], lease_seconds: int) -> None:
    """Extends the lease of each of `ids` still ours (compare-and-set on the lease we hold); a row whose lease
    is no longer ours was claimed by another worker after ours ran out: it is dropped from `leases`."""
    new = utcnow() + timedelta(seconds=lease_seconds)
    for email_id in ids:
        result = connection.execute(
            update(OutboundEmail)
            .where(col(OutboundEmail.id) == email_id)
            .where(col(OutboundEmail.status) == "sending")
            .where(col(OutboundEmail.lease_expires_at) == leases[email_id])
            .values(lease_expires_at=new)
        )
        if result.rowcount == 1:
            leases[email_id] = new
        else:
            del leases[email_id]
            log.warning("mail %s is no longer ours (its lease ran out and another worker took it): given up",
                        email_id)


def _load(engine: Engine, ids: list[int]) -> tuple[list[OutboundEmail], dict[int, list[OutboundAttachment]]]:
    """The claimed rows, in the order claimed, and their attachments: two queries for the batch."""
    with Session(engine) as session:
        rows = {row.id: row for row in session.exec(select(OutboundEmail).where(col(OutboundEmail.id).in_(ids)))}
        attachments: dict[int, list[OutboundAttachment]] = {}
        for item in session.exec(select(OutboundAttachment).where(col(OutboundAttachment.email_id).in_(ids))
                                 .order_by(col(OutboundAttachment.id))):
            attachments.setdefault(item.email_id, []).append(item)
        session.expunge_all()
    return [rows[i] for i in ids if i in rows], attachments


def _failure_values(row: OutboundEmail, message: str, permanent: bool, settings: Settings) -> dict[str, object]:
    give_up = permanent or row.attempts >= settings.outbox_max_attempts
    log.warning("mail %s to %r failed (%s): %s", row.id, row.to_address,
                "permanent" if give_up else "will retry", message)
    values: dict[str, object] = {"last_error": message[:2000], "lease_expires_at": None}
    if give_up:
        values["status"] = "failed"
    else:
        values["status"] = "queued"
        values["next_attempt_at"] = utcnow() + backoff(row.attempts)
    return values


def deliver(*, engine: Engine, claimed: list[tuple[int, datetime]], settings: Settings) -> int:
    """Sends claimed rows over one SMTP connection (or captures them); returns how many were sent.

    Each message's outcome is its own: whatever goes wrong building or sending one is recorded on its row and
    the batch goes on. Just before each send the worker proves it still owns the row (compare-and-set on its
    lease, which also renews it), and the leases of the rest of the batch are renewed while it runs, so a slow
    relay cannot make a row look abandoned to another worker. A row no longer ours is given up, never sent.
    """
    if not claimed:
        return 0
    leases = dict(claimed)
    rows, attachments = _load(engine, list(leases))
    sent = 0
    lease_seconds = settings.outbox_lease_seconds
    renew_every = timedelta(seconds=lease_seconds / 3)
    renewed_at = utcnow()
    backend = _smtp_backend(settings) if settings.smtp_host else None
    if backend is None and settings.is_production:
        log.warning("MAIL_CAPTURE is on and SMTP_HOST is not set: %d message(s) kept in the outbox, not sent",
                    len(rows))
    outcome: tuple[int, datetime, dict[str, object]] | None = None  # the last message's, recorded with the next
    try:
        with write_engine(engine).connect() as connection:  # one connection for the batch's outcomes
            for index, row in enumerate(rows):
                assert row.id is not None
                # One short transaction before each send: the previous message's outcome (so a worker that
                # dies mid-batch sends again only what it had not yet recorded), the batch's leases when a
                # third of the lease has gone, and this row's ownership.
                with connection.begin():
                    if outcome is not None:
                        _record(connection, *outcome)
                        outcome = None
                    if utcnow() - renewed_at >= renew_every:
                        _renew(connection, leases, [r.id for r in rows[index + 1:]
                                                    if r.id is not None and r.id in leases], lease_seconds)
                        renewed_at = utcnow()
                    if row.id in leases:
                        _renew(connection, leases, [row.id], lease_seconds)
                if row.id not in leases:
                    continue
                try:
                    to = addresses.for_smtp(row.to_address)
                    message = _build_message(row, attachments.get(row.id, []), settings, to=to)
                    if backend is not None:
                        _send_one(backend, message, to)
                except SendFailure as failure:
                    values = _failure_values(row, failure.message, failure.permanent, settings)
                    if backend is not None and not failure.permanent:
                        backend.close()  # a broken connection is not reused
                except addresses.Unsendable as exc:
                    values = _failure_values(row, f"unsendable: {exc}", True, settings)
                except Exception as exc:  # building or sending this one message: its outcome, not the batch's
                    log.exception("mail %s could not be built or sent", row.id)
                    values = _failure_values(row, f"{type(exc).__name__}: {exc}", True, settings)
                    if backend is not None:
                        backend.close()  # the SMTP conversation may be half-way through
                else:
                    values = {"status": "sent", "sent_at": utcnow(), "lease_expires_at": None, "last_error": None,
                              "transport": "smtp" if backend is not None else "capture"}
                    sent += 1
                outcome = (row.id, leases[row.id], values)
            if outcome is not None:
                with connection.begin():
                    _record(connection, *outcome)
    finally:
        if backend is not None:
            backend.close()
    return sent


def drain(*, engine: Engine, settings: Settings, max_batches: int = 100) -> int:
    """Claims and sends due rows until none is due (or max_batches); returns how many were sent.

    Up to `outbox_connections` batches go out at once, each over its own SMTP connection: most of a message's
    time is spent waiting for the SMTP server's answers (four per message), which over the internet take tens
    of milliseconds each. A worker that finds nothing due starts no thread.
    """
    claims = itertools.count()  # batches claimed so far by all the lanes (next() is atomic)

    def next_batch() -> list[tuple[int, datetime]]:
        if next(claims) >= max_batches:
            return []
        return claim(engine=engine, batch_size=settings.outbox_batch_size,
                     lease_seconds=settings.outbox_lease_seconds, max_attempts=settings.outbox_max_attempts)

    def lane(claimed: list[tuple[int, datetime]]) -> int:
        sent = 0
        while claimed:
            sent += deliver(engine=engine, claimed=claimed, settings=settings)
            claimed = next_batch()
        return sent

    first = next_batch()
    lanes = max(1, settings.outbox_connections)
    if lanes == 1 or len(first) < settings.outbox_batch_size:  # one lane; or all that was due fitted in one batch
        return lane(first)
    with ThreadPoolExecutor(max_workers=lanes - 1, thread_name_prefix="outbox") as pool:
        others = [pool.submit(lambda: lane(next_batch())) for _ in range(lanes - 1)]
        total = lane(first)
        return total + sum(future.result() for future in others)
