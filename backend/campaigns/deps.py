"""What campaign and letter routes share: the submitted form and the campaign loaded with the user's role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData

from backend.accounts.models import User
from backend.campaigns import service
from backend.campaigns.models import Campaign
from backend.campaigns.policy import Action, require
from backend.errors import NotFound
from backend.security import FORM_FIELD_LIMIT
from backend.text import clean_text


async def read_form(request: Request) -> FormData:
    """The submitted form (already read and checked by the CSRF guard, so this is cached)."""
    return await request.form(max_part_size=FORM_FIELD_LIMIT)


FormDep = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return clean_text(value) if isinstance(value, str) else ""


def load_campaign(*, session: Session, slug: str, user: User, action: Action) -> tuple[Campaign, str]:
    """The campaign and the user's role on it: NotFound, or Forbidden when the role does not allow `action`."""
    campaign = service.get_by_slug(session=session, slug=slug)
    if campaign is None:
        raise NotFound("There is no campaign at this address.")
    role = require(session=session, campaign_id=campaign.id, user=user, action=action, what="campaign")  # type: ignore[arg-type]
    return campaign, role
