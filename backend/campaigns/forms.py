"""The campaign and coalition forms, declared once: each route reads one of these models (backend/forms.py)."""

from __future__ import annotations

from backend.forms import DeclaredForm


class CampaignForm(DeclaredForm):
    """A new campaign: its title, description and the organisation that leads it (an id, as chosen)."""

    title: str = ""
    description: str = ""
    organisation: str = ""


class CoalitionInviteForm(DeclaredForm):
    """Inviting a partner organisation's staff member."""

    email: str = ""
    organisation_name: str = ""
    role: str = ""


class MemberRoleForm(DeclaredForm):
    """Changing a member organisation's role."""

    role: str = ""


class InviteAcceptForm(DeclaredForm):
    """Accepting a coalition invite as one of the user's organisations (an id) or a new one ("new")."""

    organisation: str = ""
