"""Invites to sign, signatures bound to the version they approved, and their emailed-link tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.signatures.enums import InviteStatus, SignatureKind, SignatureStatus, SignatureVia, TokenPurpose

INVITE_STATUSES = tuple(s.value for s in InviteStatus)
SIGNATURE_KINDS = tuple(k.value for k in SignatureKind)
SIGNATURE_STATUSES = tuple(s.value for s in SignatureStatus)


class Invite(TableBase, table=True):
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    organisation_name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = datetime_field(nullable=False)
    status: InviteStatus = enum_field(InviteStatus, default=InviteStatus.invited, length=10, index=True)
    sent_at: datetime | None = datetime_field()
    opened_at: datetime | None = datetime_field()
    reminded_at: datetime | None = datetime_field()
    resend_count: int = Field(default=0)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class Signature(TableBase, table=True):
    __table_args__ = (
        UniqueConstraint("letter_id", "kind", "name_key"),
        UniqueConstraint("letter_id", "email_key"),
    )
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    version_id: int | None = Field(default=None, foreign_key="letter_version.id", ondelete="SET NULL")
    content_hash: str | None = Field(default=None, max_length=64)
    kind: SignatureKind = enum_field(SignatureKind, default=SignatureKind.organisation, length=12)
    display_name: str = Field(max_length=200)
    name_key: str = Field(max_length=200)  # display name case- and whitespace-folded
    signer_name: str = Field(max_length=200)
    signer_role: str = Field(default="", max_length=200)
    contact_email: str = Field(max_length=254)  # private: never shown publicly
    email_key: str = Field(max_length=254)
    website: str | None = Field(default=None, max_length=500)
    logo_path: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    status: SignatureStatus = enum_field(SignatureStatus, default=SignatureStatus.pending, length=24, index=True)
    via: SignatureVia = enum_field(SignatureVia, default=SignatureVia.invite, length=10)
    invite_id: int | None = Field(default=None, foreign_key="invite.id", ondelete="SET NULL")
    display_order: int = Field(default=0)
    attested_at: datetime | None = datetime_field()
    confirmed_at: datetime | None = datetime_field()
    approved_at: datetime | None = datetime_field()
    withdrawn_at: datetime | None = datetime_field()
    declined_at: datetime | None = datetime_field()
    decline_reason: str | None = Field(default=None, sa_type=Text)  # type: ignore[call-overload]
    notify_updates: bool = Field(default=False)  # consent: off until the signatory ticks it
    # Identity (see backend/signatures/identity.py): the name's confusable skeleton, why a look-alike is held
    # for the lead, and the organisation's domain when the confirming address belongs to it.
    skeleton: str = Field(default="", max_length=400, index=True, sa_column_kwargs={"server_default": ""})
    hold_reason: str | None = Field(default=None, max_length=300)
    confirmed_domain: str | None = Field(default=None, max_length=253)


class SignatureToken(TableBase, table=True):
    """An emailed link for one signature: confirm it, reconfirm a new text, or manage the listing."""

    __tablename__ = "signature_token"
    signature_id: int = Field(foreign_key="signature.id", index=True, ondelete="CASCADE")
    purpose: TokenPurpose = enum_field(TokenPurpose, length=20)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = datetime_field(nullable=False)
    used_at: datetime | None = datetime_field()


class InviteLink(TableBase, table=True):
    """Every link sent for an invite (the first email, resends, reminders): each works until the invite is answered."""

    __tablename__ = "invite_link"
    invite_id: int = Field(foreign_key="invite.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)


class ListingChange(TableBase, table=True):
    """A change of an approved listing's name, website or kind (or an invited signer's correction of the name
    they were invited under), waiting for the lead: the listing stays as it was until it is approved."""

    __tablename__ = "listing_change"
    signature_id: int = Field(foreign_key="signature.id", unique=True, ondelete="CASCADE")
    display_name: str = Field(max_length=200)
    website: str | None = Field(default=None, max_length=500)
    kind: SignatureKind = enum_field(SignatureKind, default=SignatureKind.organisation, length=12)
    hold_reason: str | None = Field(default=None, max_length=300)
