"""Letters, their immutable versions, recipients, quotes, press contact and tags."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.letters.enums import FieldMode, LetterStatus, ReplyStatus

LETTER_STATUSES = tuple(s.value for s in LetterStatus)
REPLY_STATUSES = tuple(s.value for s in ReplyStatus)
FIELD_MODES = tuple(m.value for m in FieldMode)


class Letter(TableBase, table=True):
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=200)
    slug: str = Field(max_length=120, unique=True, index=True)
    status: LetterStatus = enum_field(LetterStatus, default=LetterStatus.draft, length=10, index=True)
    open_for_signatures_until: datetime | None = datetime_field()
    embargo_at: datetime | None = datetime_field()
    published_at: datetime | None = datetime_field()
    # letter_version also points at letter: use_alter breaks the cycle when creating tables.
    current_version_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("letter_version.id", use_alter=True, ondelete="SET NULL"), nullable=True
        ),
    )
    notes_to_editors: str = Field(default="", sa_type=Text)  # type: ignore[call-overload]
    # Signing settings.
    open_signon_enabled: bool = Field(default=False)
    moderate_open_signons: bool = Field(default=True)
    allow_individuals: bool = Field(default=False)
    show_signatories_while_open: bool = Field(default=True)
    field_signer_role: FieldMode = enum_field(FieldMode, default=FieldMode.required, length=10)
    field_website: FieldMode = enum_field(FieldMode, default=FieldMode.optional, length=10)
    field_logo: FieldMode = enum_field(FieldMode, default=FieldMode.optional, length=10)
    field_city: FieldMode = enum_field(FieldMode, default=FieldMode.hidden, length=10)
    # Bumped by the services whenever anything public about the letter changes: the public page, its ETag, the
    # share image and the built documents are keyed by it (backend/publishing/revision.py).
    public_revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LetterVersion(TableBase, table=True):
    """One saved text of a letter. Never updated: a change makes a new version."""

    __tablename__ = "letter_version"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    number: int
    salutation: str = Field(max_length=300)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)  # type: ignore[call-overload]
    sign_off: str = Field(max_length=200)
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    content_hash: str = Field(max_length=64, index=True)


class Recipient(TableBase, table=True):
    """A person a letter is addressed to; kept in an organisation's directory for reuse."""

    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="CASCADE"
    )
    name: str = Field(max_length=200)
    position: str = Field(default="", max_length=300)
    recipient_organisation: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    reply_target_days: int = Field(default=20)
    very_overdue_days: int = Field(default=40)


class LetterRecipient(TableBase, table=True):
    __tablename__ = "letter_recipient"
    __table_args__ = (UniqueConstraint("letter_id", "recipient_id"),)
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    recipient_id: int = Field(foreign_key="recipient.id", index=True, ondelete="CASCADE")
    position: int = Field(default=0)
    # Reply tracking (see backend/responses): the stored status is set by the coalition; overdue is computed.
    reply_status: ReplyStatus = enum_field(ReplyStatus, default=ReplyStatus.awaiting, length=20)
    due_on: date | None = None
    very_overdue_on: date | None = None
    holiday_region: str = Field(default="england-and-wales", max_length=20)
    # Replies to reply+<token>@... are filed against this letter and recipient (backend/inbound); only the hash
    # is kept.
    reply_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    # The due date for which the lead said "we are still waiting": no more alerts for it.
    still_waiting_for: date | None = None


class Quote(TableBase, table=True):
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    person: str = Field(max_length=200)
    role: str = Field(default="", max_length=200)
    organisation: str = Field(default="", max_length=200)
    text: str = Field(sa_type=Text)  # type: ignore[call-overload]
    position: int = Field(default=0)


class PressContact(TableBase, table=True):
    __tablename__ = "press_contact"
    letter_id: int = Field(foreign_key="letter.id", unique=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    role: str = Field(default="", max_length=200)
    organisation: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    out_of_hours_phone: str = Field(default="", max_length=40)


class LetterTag(TableBase, table=True):
    __tablename__ = "letter_tag"
    __table_args__ = (UniqueConstraint("letter_id", "name"),)
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60, index=True)
