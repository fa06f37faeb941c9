"""What may happen to a letter given its status, with the coalition's permissions (backend/campaigns/policy.py)."""

from __future__ import annotations

from backend.campaigns.policy import Action, Permissions, allows
from backend.letters.models import Letter

EDITABLE_STATUSES = ("draft", "open")


def text_editable(letter: Letter) -> bool:
    """Text can change while the letter is a draft or open for signatures, not after."""
    return letter.status in EDITABLE_STATUSES


def can_edit_text(letter: Letter, role: str | None) -> bool:
    """Whether a member with this role may edit the letter's text now (a boolean for pages)."""
    return allows(role, Action.edit_text) and text_editable(letter)


def nav(letter: Letter, role: str | None) -> dict[str, object]:
    """What the letter's navigation (templates/letters/_nav.html) may offer: booleans, for any page that shows it."""
    return {"perms": Permissions.of(role), "can_edit_text": can_edit_text(letter, role)}
