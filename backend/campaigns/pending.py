"""Coalition invitations waiting for the signed-in person: shown on their campaigns page, so an invitation
survives signing up, confirming the email and logging in without the original link."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from backend.accounts.models import Organisation, User
from backend.campaigns import service
from backend.campaigns.models import Campaign, CoalitionInvite
from backend.db import utcnow
from backend.errors import NotFound


@dataclass
class Pending:
    invite: CoalitionInvite
    campaign: Campaign
    lead_name: str
    role_phrase: str


def _open_invites(*, session: Session, email: str) -> list[CoalitionInvite]:
    rows = session.exec(select(CoalitionInvite).where(col(CoalitionInvite.accepted_at).is_(None))
                        .where(col(CoalitionInvite.revoked_at).is_(None))
                        .where(col(CoalitionInvite.expires_at) > utcnow())
                        .order_by(col(CoalitionInvite.id))).all()
    return [i for i in rows if i.email.casefold() == email.casefold()]


def get_all(*, session: Session, user: User) -> list[Pending]:
    """Invitations to the user's confirmed address not yet accepted (none before the address is confirmed)."""
    if user.verified_at is None:
        return []
    found = []
    for invite in _open_invites(session=session, email=user.email):
        campaign = session.get(Campaign, invite.campaign_id)
        if campaign is None:
            continue
        lead = session.get(Organisation, campaign.lead_organisation_id)
        found.append(Pending(invite, campaign, lead.name if lead else "", service.role_phrase(invite.role)))
    return found


def get(*, session: Session, user: User, invite_id: int) -> CoalitionInvite:
    """One of the user's pending invitations; NotFound for anyone else's."""
    for pending in get_all(session=session, user=user):
        if pending.invite.id == invite_id:
            return pending.invite
    raise NotFound("There is no such invitation waiting for you (it may have been accepted or withdrawn).")
