"""Who may see and change an organisation: the rules in one place, for services (which check them before a change)
and for routes (which pass the answers to templates as booleans)."""

from __future__ import annotations

from backend.accounts.enums import MembershipRole
from backend.accounts.models import User
from backend.errors import Forbidden


def can_see_organisation(*, user: User, role: str | None) -> bool:
    """Members (any role) and site admins see an organisation's page."""
    return role is not None or user.is_admin


def can_edit_organisation(*, user: User, role: str | None) -> bool:
    """An admin of the organisation, or a site admin, changes its details."""
    return role == MembershipRole.admin or user.is_admin


def ensure_site_admin(user: User) -> User:
    """Refuses anyone but a site admin (the admin pages' dependency says the same before the page loads)."""
    if not user.is_admin:
        raise Forbidden("Only a site admin can do this.")
    return user
