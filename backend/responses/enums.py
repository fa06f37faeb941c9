"""Reply tracking's states and fixed sets of values."""

from enum import StrEnum


class DispatchChannel(StrEnum):
    email = "email"
    post = "post"
    hand = "hand"
    published_only = "published_only"


class ResponseKind(StrEnum):
    acknowledgement = "acknowledgement"
    holding_reply = "holding_reply"
    substantive_reply = "substantive_reply"
    meeting_offered = "meeting_offered"
    public_statement = "public_statement"
    refusal = "refusal"


class CommitmentStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    met = "met"
    missed = "missed"
    dropped = "dropped"


class AlertLevel(StrEnum):
    """How late a reply is when the lead is alerted."""

    overdue = "overdue"
    very_overdue = "very_overdue"


class HolidaySource(StrEnum):
    package = "package"  # filled from the `holidays` package
    admin = "admin"  # added by the site admin
