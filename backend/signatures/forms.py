"""The signatures forms, declared once (the public signing forms and the coalition's own): each route reads one
of these models and the tests post its fields.

Every field is text as a browser sends it; the services apply the rules (and say what is wrong in the page).
The caps here only bound what is read: a longer value is refused before any work, as a 422.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from backend.errors import InvalidInput
from backend.forms import DeclaredForm
from backend.signatures import managing, opening, signing


class SignForm(DeclaredForm):
    """The signing form: the open sign-on link and an invite link."""

    kind: str = "organisation"
    display_name: str = ""
    signer_name: str = ""
    signer_role: str = ""
    contact_email: str = ""
    website: str = ""
    city: str = ""
    attested: str = ""
    version_id: str = ""
    notify_updates: str = ""  # consent to hear about replies: off until ticked

    def to_input(self, logo: bytes | None) -> signing.SignatureInput:
        """The form as the service takes it."""
        version_id = int(self.version_id) if self.version_id.strip().isdigit() else None
        return signing.SignatureInput(
            kind=self.kind or "organisation", display_name=self.display_name, signer_name=self.signer_name,
            signer_role=self.signer_role, contact_email=self.contact_email, website=self.website, city=self.city,
            attested=self.attested == "yes", logo=logo, version_id=version_id or None,
            notify_updates=self.notify_updates == "yes",
        )


class ConfirmForm(DeclaredForm):
    """The button on an emailed confirmation (or new-text approval) link: the version the person read."""

    version_id: str = ""

    @property
    def version_number(self) -> int | None:
        return int(self.version_id) if self.version_id.isdigit() else None


class ListingForm(DeclaredForm):
    """A signatory's own listing, through their management link."""

    display_name: str = ""
    signer_name: str = ""
    signer_role: str = ""
    website: str = ""
    city: str = ""
    remove_logo: str = ""

    def to_input(self, logo: bytes | None) -> managing.ListingInput:
        return managing.ListingInput(
            display_name=self.display_name, signer_name=self.signer_name, signer_role=self.signer_role,
            website=self.website, city=self.city, logo=logo, remove_logo=self.remove_logo == "yes",
        )

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude={"remove_logo"})


class DeclineForm(DeclaredForm):
    """Declining an invite, with an optional reason."""

    reason: str = ""


# The coalition's forms on the signatories dashboard --------------------------------------------------

MAX_PASTED_INVITES = 500_000  # characters of pasted "name, email" lines (a CSV file comes as its own part)


class InviteForm(DeclaredForm):
    """Organisations to invite: one "name, email" a line."""

    invites: str = Field(default="", max_length=MAX_PASTED_INVITES)


class StatusForm(DeclaredForm):
    """Open the letter for signatures, or close it."""

    status: str = ""


class SigningSettingsForm(DeclaredForm):
    """How the letter collects signatures: each box ticked sends "yes"."""

    open_signon_enabled: str = ""
    moderate_open_signons: str = ""
    allow_individuals: str = ""
    show_signatories_while_open: str = ""

    def to_settings(self) -> opening.SigningSettings:
        return opening.SigningSettings(
            open_signon_enabled=self.open_signon_enabled == "yes",
            moderate_open_signons=self.moderate_open_signons == "yes",
            allow_individuals=self.allow_individuals == "yes",
            show_signatories_while_open=self.show_signatories_while_open == "yes")


class CorrectionForm(DeclaredForm):
    """The lead's correction of a listed name."""

    display_name: str = ""


class WithdrawForm(DeclaredForm):
    """The lead withdraws a signature: why, for the record."""

    reason: str = ""


class OrderForm(DeclaredForm):
    """The display order: one `order-<signature id>` field per signatory listed on the page."""

    model_config = ConfigDict(extra="allow")

    def positions(self) -> dict[int, int]:
        """Signature id → position; InvalidInput when a position is not a whole number."""
        order: dict[int, int] = {}
        for key, value in (self.model_extra or {}).items():
            if key.startswith("order-") and key[6:].isdigit() and isinstance(value, str):
                try:
                    order[int(key[6:])] = int(value.strip() or 0)
                except ValueError:
                    raise InvalidInput(f"“{value[:20]}” is not a whole number: the order was not changed.",
                                       field="order") from None
        return order
