"""Accounts' fixed sets of values."""

from enum import StrEnum


class MembershipRole(StrEnum):
    """A user's role in their organisation."""

    admin = "admin"
    member = "member"
