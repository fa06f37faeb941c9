"""The outbox's states."""

from enum import StrEnum


class OutboxStatus(StrEnum):
    queued = "queued"
    sending = "sending"  # leased by a worker
    sent = "sent"
    failed = "failed"  # gave up after the last attempt
