"""Campaigns and the coalition of organisations working on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field

from backend.base import TableBase, datetime_field, enum_field
from backend.campaigns.enums import CoalitionRole

COALITION_ROLES = (CoalitionRole.lead.value, CoalitionRole.editor.value, CoalitionRole.viewer.value)


class Campaign(TableBase, table=True):
    title: str = Field(max_length=200)
    slug: str = Field(max_length=120, unique=True, index=True)
    description: str | None = Field(default=None, sa_type=Text)  # type: ignore[call-overload]
    lead_organisation_id: int = Field(foreign_key="organisation.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class CoalitionMember(TableBase, table=True):
    __tablename__ = "coalition_member"
    __table_args__ = (UniqueConstraint("campaign_id", "organisation_id"),)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    role: CoalitionRole = enum_field(CoalitionRole, length=10)


class CoalitionInvite(TableBase, table=True):
    """An emailed invitation for a partner organisation's staff member to co-draft a campaign."""

    __tablename__ = "coalition_invite"
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    email: str = Field(max_length=254)
    organisation_name: str = Field(max_length=200)
    role: CoalitionRole = enum_field(CoalitionRole, length=10)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = datetime_field(nullable=False)
    accepted_at: datetime | None = datetime_field()
    revoked_at: datetime | None = datetime_field()
    invited_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
