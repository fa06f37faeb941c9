"""Writing a letter: the recipients the form offers, and saving the whole form as one use case (permission,
change, audit line, the signatories asked again)."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts.models import User
from backend.accounts.service import organisations_of
from backend.audit import service as audit
from backend.campaigns import service as campaigns
from backend.campaigns.models import Campaign
from backend.campaigns.policy import Action, allows, require
from backend.config import Settings
from backend.letters import flows, service
from backend.letters.models import Letter, LetterVersion, Recipient
from backend.letters.service import LetterDraft


def _own_organisation_ids(session: Session, user: User) -> list[int]:
    return [o.id for o in organisations_of(session=session, user_id=user.id)  # type: ignore[arg-type]
            if o.id is not None]


def owner_organisation(*, session: Session, campaign: Campaign, user: User) -> int:
    """Whose directory a recipient typed on the form joins: the lead's if the user is in it, else theirs."""
    own = _own_organisation_ids(session, user)
    if campaign.lead_organisation_id in own or not own:
        return campaign.lead_organisation_id
    members = {m.organisation_id for m, _ in campaigns.get_members(session=session, campaign_id=campaign.id)}  # type: ignore[arg-type]
    return next((o for o in own if o in members), own[0])


def directory_for(*, session: Session, campaign: Campaign, user: User, letter: Letter | None) -> list[Recipient]:
    """Recipients the form offers: the user's and the lead's directories, and those already on the letter."""
    ids = {*_own_organisation_ids(session, user), campaign.lead_organisation_id}
    found = service.get_directory(session=session, organisation_ids=sorted(ids))
    on_letter = service.get_recipients(session=session, letter_id=letter.id) if letter and letter.id else []  # type: ignore[arg-type]
    seen = {r.id for r in on_letter}
    return on_letter + [r for r in found if r.id not in seen]


def can_set_embargo(role: str | None) -> bool:
    """Only the lead sets or moves an embargo."""
    return allows(role, Action.set_embargo)


def problems(*, session: Session, campaign: Campaign, letter: Letter | None, draft: LetterDraft,
             user: User) -> dict[str, str]:
    """Every problem with the form, by field, before anything is saved (empty when it can be saved)."""
    role = require(session=session, campaign_id=campaign.id, user=user, action=Action.edit_text)  # type: ignore[arg-type]
    allowed = {r.id for r in directory_for(session=session, campaign=campaign, user=user, letter=letter)
               if r.id is not None}
    return service.validate_draft(session=session, draft=draft, allowed_recipient_ids=allowed,
                                  previous_embargo=letter.embargo_at if letter else None,
                                  can_set_embargo=can_set_embargo(role))


def save(*, session: Session, campaign: Campaign, letter: Letter | None, draft: LetterDraft, title: str,
         author: User, base_version_id: int | None, ip: str | None, settings: Settings,
         ) -> tuple[Letter, LetterVersion | None]:
    """Saves the whole form (a new letter when `letter` is None): the text as a new version when it changed
    (Conflict if someone saved since), the audit line, and signatures on an older text asked again."""
    role = require(session=session, campaign_id=campaign.id, user=author, action=Action.edit_text)  # type: ignore[arg-type]
    allowed = {r.id for r in directory_for(session=session, campaign=campaign, user=author, letter=letter)
               if r.id is not None}
    target = letter or service.create(session=session, campaign=campaign, title=title)
    version = service.save_draft(
        session=session, letter=target, draft=draft, author=author, base_version_id=base_version_id,
        owner_organisation_id=owner_organisation(session=session, campaign=campaign, user=author),
        allowed_recipient_ids=allowed, can_set_embargo=can_set_embargo(role),
    )
    audit.record(session=session, action="letter_saved", actor=audit.actor_of(author), actor_user_id=author.id,
                 subject_type="letter", subject_id=target.id, ip=ip,
                 details={"version": version.number if version else None})
    if version is not None:
        flows.new_version_flow(session=session, settings=settings, letter=target, version=version)
    return target, version
