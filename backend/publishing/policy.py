"""What the publish page may offer a coalition member: booleans for templates/publishing/publish.html, from the
coalition's permissions (backend/campaigns/policy.py) and the letter's state. The services check the same
actions again when the form is sent."""

from __future__ import annotations

from backend.campaigns.policy import Action, Permissions, allows
from backend.letters.models import Letter
from backend.publishing.embargo import embargo_ahead


def publish_page(letter: Letter, role: str | None) -> dict[str, object]:
    """The page's booleans: publishing and scheduling, the embargo, and the press links."""
    may_publish = allows(role, Action.publish)
    unpublished = letter.status != "published"
    return {
        "perms": Permissions.of(role),
        "can_publish": may_publish,
        "can_move_embargo": allows(role, Action.set_embargo) and unpublished,
        "can_create_press_link": may_publish and unpublished,
        "can_revoke_press_link": may_publish,
        # A fresh link by email only while the embargo is ahead (after it, the public page serves).
        "can_resend_press_link": may_publish and embargo_ahead(letter),
    }
