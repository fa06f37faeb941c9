"""The outbox's states."""

from enum import StrEnum


class OutboxStatus(StrEnum):
    queued = "queued"
    sending = "sending"  # leased by a worker
    sent = "sent"
    failed = "failed"  # gave up after the last attempt


class MailTransport(StrEnum):
    """How a sent email went out."""

    smtp = "smtp"
    capture = "capture"  # kept, not sent (no SMTP server configured)
