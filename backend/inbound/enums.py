"""Inbound mail's states."""

from enum import StrEnum


class InboundState(StrEnum):
    to_review = "to_review"  # matched to a letter recipient, waiting for the lead
    filed = "filed"  # filed as a response, or as an automatic reply (never counted as an answer)
    discarded = "discarded"
    holding = "holding"  # not matched: in the holding pen for a lead or admin to assign


class InboundSource(StrEnum):
    """How a message came in."""

    smtp = "smtp"
    lmtp = "lmtp"
    imap = "imap"
    file = "file"  # the `undersigned inbound file` command
