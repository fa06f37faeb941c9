"""What the signing modules share: the lifetimes of emailed links, the states of a signature, the form
error that carries several fields, and emailed links' addresses."""

from __future__ import annotations

import re

from backend.config import Settings
from backend.errors import InvalidInput

# Lifetimes of emailed links (not settings: they are promises made in the emails' wording).
INVITE_DAYS = 30
CONFIRM_DAYS = 7
RECONFIRM_DAYS = 60
MANAGE_DAYS = 730
RESEND_CAP = 3

# The states shown on the dashboard, in the order a signature usually moves through them.
DASHBOARD_STATES = (
    "invited", "opened", "pending", "confirmed", "approved", "needs_reconfirmation",
    "declined", "withdrawn", "rejected", "revoked", "bounced",
)
STATE_LABELS = {s: s.replace("_", " ") for s in DASHBOARD_STATES}
LISTED_STATUSES = ("approved",)
ACTIVE_STATUSES = ("pending", "confirmed", "approved", "needs_reconfirmation")
ENDED_STATUSES = ("withdrawn", "declined", "rejected")  # a listing no longer changed nor withdrawn

URL_RE = re.compile(
    r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|\b[a-z0-9-]+\.(?:com|org|net|info|biz|io|ru|xyz|top|co|uk|me|app|"
    r"site|online|click|link|ly|gl|tk|cn)\b|<|>)"
)


class SignatureInvalid(InvalidInput):
    """Several fields of the signing form at once; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = errors


def errors_of(exc: InvalidInput) -> dict[str, str]:
    """The field → message map of a form error, for re-rendering the form."""
    return dict(getattr(exc, "errors", None) or {exc.field or "form": exc.message})



def clean_spaces(text: str | None) -> str:
    return " ".join((text or "").split())



def link(settings: Settings, path: str) -> str:
    """The full address of a page of the site, for an email."""
    return settings.base_url.rstrip("/") + path
