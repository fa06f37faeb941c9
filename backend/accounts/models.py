"""Accounts: organisations, users, memberships, server-side sessions and emailed-link tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from backend.accounts.enums import MembershipRole
from backend.base import TableBase, datetime_field, enum_field

MEMBERSHIP_ROLES = tuple(r.value for r in MembershipRole)


class Organisation(TableBase, table=True):
    name: str = Field(max_length=200)
    # The name's confusable skeleton (backend.text.skeleton), kept with the name by accounts.service: a sign-on
    # that reads like an organisation with an account here is found by this index, not by reading every name.
    skeleton: str = Field(default="", max_length=400, index=True, sa_column_kwargs={"server_default": ""})
    slug: str = Field(max_length=120, unique=True, index=True)
    website: str | None = Field(default=None, max_length=500)
    charity_number: str | None = Field(default=None, max_length=40)
    logo_path: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=5000)


class User(TableBase, table=True):
    email: str = Field(max_length=254, unique=True, index=True)  # case-folded
    name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=300)
    verified_at: datetime | None = datetime_field()
    is_admin: bool = Field(default=False)
    last_login_at: datetime | None = datetime_field()


class Membership(TableBase, table=True):
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    role: MembershipRole = enum_field(MembershipRole, default=MembershipRole.member, length=20)


class UserSession(TableBase, table=True):
    """A log-in. The cookie holds a random id; only its SHA-256 is stored here."""

    __tablename__ = "user_session"
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    last_seen_at: datetime = datetime_field(nullable=False)
    expires_at: datetime = datetime_field(nullable=False)
    ended_at: datetime | None = datetime_field()
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)


class EmailToken(TableBase, table=True):
    """A single-use token sent by email for one purpose (verify, reset, coalition invite...)."""

    __tablename__ = "email_token"
    purpose: str = Field(max_length=40, index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    email: str = Field(max_length=254)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    subject_id: int | None = Field(default=None)  # e.g. the campaign of a coalition invite
    expires_at: datetime = datetime_field(nullable=False)
    used_at: datetime | None = datetime_field()
