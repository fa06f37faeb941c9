"""Publication schedules, press links for journalists before the embargo, and their download log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.publishing.enums import DocumentKind, DocumentStatus


class PublicationSchedule(TableBase, table=True):
    """The lead asked for the letter to go public at its embargo minute (the scheduler does it, once)."""

    __tablename__ = "publication_schedule"
    letter_id: int = Field(foreign_key="letter.id", unique=True, ondelete="CASCADE")
    scheduled_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    cancelled_at: datetime | None = datetime_field()


class PressLink(TableBase, table=True):
    """A named link for one journalist: the embargoed preview and press pack until the embargo lifts."""

    __tablename__ = "press_link"
    letter_id: int = Field(foreign_key="letter.id", index=True, ondelete="CASCADE")
    journalist: str = Field(max_length=200)
    outlet: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime | None = datetime_field()
    revoked_at: datetime | None = datetime_field()
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class PressDownload(TableBase, table=True):
    """One view or download through a press link."""

    __tablename__ = "press_download"
    press_link_id: int = Field(foreign_key="press_link.id", index=True, ondelete="CASCADE")
    file: str = Field(max_length=100)
    ip: str = Field(default="", max_length=64)


DOCUMENT_KINDS = tuple(k.value for k in DocumentKind)
DOCUMENT_STATES = tuple(s.value for s in DocumentStatus)


class DocumentBuild(TableBase, table=True):
    """The documents of a letter built by the worker, one row per letter and kind, claimed by one worker at a time,
    their files named by their content. `public` and `embargoed`: the press pack (letter PDF and DOCX, press
    release, signatory list, logos, ZIP) for the letter's `public_revision`, queued again by each change (so a
    burst of changes is built once). `staff`: the coalition's PDF of the letter as it stands, queued when someone
    asks for it."""

    __tablename__ = "document_build"
    __table_args__ = (UniqueConstraint("letter_id", "kind"),)
    letter_id: int = Field(foreign_key="letter.id", ondelete="CASCADE")
    kind: DocumentKind = enum_field(DocumentKind, length=10)
    status: DocumentStatus = enum_field(DocumentStatus, default=DocumentStatus.queued, length=10, index=True)
    wanted_revision: int = Field(default=0)
    built_revision: int | None = Field(default=None)
    # {"press-pack.zip": "documents/ab/ab12...zip", ...}: each file's public name and where it is under the media folder
    files: str = Field(default="{}", sa_type=Text)  # type: ignore[call-overload]
    attempts: int = Field(default=0)
    not_before: datetime | None = datetime_field()
    lease_until: datetime | None = datetime_field()
    last_error: str = Field(default="", sa_type=Text)  # type: ignore[call-overload]
    built_at: datetime | None = datetime_field()
