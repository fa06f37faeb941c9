"""Publication schedules, press links for journalists before the embargo, and their download log."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from backend.base import TableBase, datetime_field


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
