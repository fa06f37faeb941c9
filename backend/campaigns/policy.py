"""Who may do what on a campaign's letters: the one table of coalition permissions.

Services call `require(...)` before a change; routes load the role once and pass `Permissions` booleans to the
templates, so a page never spells out a role rule of its own. A higher role includes everything a lower one may.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from backend.accounts.models import User
from backend.campaigns import service
from backend.campaigns.enums import CoalitionRole
from backend.errors import Forbidden, NotFound

RANK = {CoalitionRole.viewer: 1, CoalitionRole.editor: 2, CoalitionRole.lead: 3}


class Action(StrEnum):
    """Things a coalition member may do; MINIMUM says which role each needs."""

    read = "read"  # the letter, its signatories (names), its tracking, as staff
    edit_text = "edit_text"  # draft and save versions, quotes, press contact, notes to editors
    invite = "invite"  # invite signatories, remind them
    see_signatory_emails = "see_signatory_emails"
    record_response = "record_response"  # log replies, commitments and their evidence
    moderate = "moderate"  # approve/reject open sign-ons and listing changes, correct a listing
    set_embargo = "set_embargo"
    publish = "publish"  # publish, schedule, press links
    send = "send"  # send the letter to its recipients
    file_reply = "file_reply"  # file inbound mail
    manage_coalition = "manage_coalition"  # members and coalition invites
    change_settings = "change_settings"  # signing settings of a letter
    order_signatories = "order_signatories"  # the order of the published list of signatories


MINIMUM: dict[Action, CoalitionRole] = {
    Action.read: CoalitionRole.viewer,
    Action.edit_text: CoalitionRole.editor,
    Action.invite: CoalitionRole.editor,
    Action.see_signatory_emails: CoalitionRole.editor,
    Action.record_response: CoalitionRole.editor,
    Action.moderate: CoalitionRole.lead,
    Action.set_embargo: CoalitionRole.lead,
    Action.publish: CoalitionRole.lead,
    Action.send: CoalitionRole.lead,
    Action.file_reply: CoalitionRole.lead,
    Action.manage_coalition: CoalitionRole.lead,
    Action.change_settings: CoalitionRole.lead,
    Action.order_signatories: CoalitionRole.editor,
}


def allows(role: str | None, action: Action) -> bool:
    """Whether a member with this role (None: not in the coalition) may do this."""
    if role is None:
        return False
    return RANK[CoalitionRole(role)] >= RANK[MINIMUM[action]]


def require(*, session: Session, campaign_id: int, user: User, action: Action, what: str = "letter") -> str:
    """The user's role when it allows `action`; Forbidden when it does not, and for someone outside the coalition
    the very NotFound a missing `what` gives (so an outsider cannot tell which letters exist)."""
    role = service.role_of(session=session, campaign_id=campaign_id, user=user)
    if role is None:
        raise NotFound(f"There is no {what} at this address.")
    if not allows(role, action):
        needed = MINIMUM[action]
        raise Forbidden(f"Your organisation is a{'n' if role == 'editor' else ''} {role} on this campaign; "
                        f"this needs {needed}.")
    return role


@dataclass(frozen=True)
class Permissions:
    """What a page may offer this member: one boolean per action, for templates."""

    role: str | None
    can: frozenset[Action]

    @classmethod
    def of(cls, role: str | None) -> Permissions:
        return cls(role=role, can=frozenset(a for a in Action if allows(role, a)))

    def __getattr__(self, name: str) -> bool:
        # `perms.edit_text` in a template reads as a boolean; an unknown name is an error, not False.
        if name.startswith("_"):
            raise AttributeError(name)
        return Action(name) in self.can
