"""Signatures' states and fixed sets of values."""

from enum import StrEnum


class InviteStatus(StrEnum):
    invited = "invited"
    opened = "opened"
    answered = "answered"
    revoked = "revoked"
    bounced = "bounced"


class SignatureKind(StrEnum):
    organisation = "organisation"
    individual = "individual"


class SignatureStatus(StrEnum):
    pending = "pending"  # waiting for the emailed link to be followed
    confirmed = "confirmed"  # confirmed, waiting for the lead (open sign-on under moderation)
    approved = "approved"  # listed
    needs_reconfirmation = "needs_reconfirmation"  # the text changed since it was signed
    withdrawn = "withdrawn"
    declined = "declined"
    rejected = "rejected"


class SignatureVia(StrEnum):
    """How the signature came: an invite, the open sign-on link, or an imported letter file."""

    invite = "invite"
    open = "open"
    import_ = "import"


class TokenPurpose(StrEnum):
    """What a signature's emailed link does."""

    confirm = "confirm"
    reconfirm = "reconfirm"
    manage = "manage"
