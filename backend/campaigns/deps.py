"""What campaign and letter routes share: the campaign loaded with the user's role."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts.models import User
from backend.campaigns import service
from backend.campaigns.models import Campaign
from backend.campaigns.policy import Action, require
from backend.errors import NotFound


def load_campaign(*, session: Session, slug: str, user: User, action: Action) -> tuple[Campaign, str]:
    """The campaign and the user's role on it: NotFound, or Forbidden when the role does not allow `action`."""
    campaign = service.get_by_slug(session=session, slug=slug)
    if campaign is None:
        raise NotFound("There is no campaign at this address.")
    role = require(session=session, campaign_id=campaign.id, user=user, action=action, what="campaign")  # type: ignore[arg-type]
    return campaign, role
