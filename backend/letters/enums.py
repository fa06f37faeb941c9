"""Letters' states and fixed sets of values."""

from enum import StrEnum


class LetterStatus(StrEnum):
    draft = "draft"
    open = "open"  # open for signatures
    closed = "closed"  # signing closed, not yet public
    published = "published"
    archived = "archived"


class ReplyStatus(StrEnum):
    """Where a recipient's reply stands, as the coalition records it (overdue is computed, not stored)."""

    awaiting = "awaiting"
    acknowledged = "acknowledged"
    holding_reply = "holding_reply"
    replied = "replied"
    partial = "partial"
    declined = "declined"
    replied_offsite = "replied_offsite"


class FieldMode(StrEnum):
    """Whether the sign-on form asks for a field."""

    required = "required"
    optional = "optional"
    hidden = "hidden"
