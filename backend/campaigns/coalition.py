"""The coalition's use cases: each checks the permission (backend/campaigns/policy.py), makes the change and writes
its audit line; routes parse, call, commit and render."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts.models import Organisation, User
from backend.audit import service as audit
from backend.campaigns import service
from backend.campaigns.models import Campaign, CoalitionInvite, CoalitionMember
from backend.campaigns.policy import Action, require
from backend.config import Settings


def _record(*, session: Session, action: str, user: User, campaign: Campaign, ip: str | None,
            details: dict[str, object]) -> None:
    audit.record(session=session, action=action, actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="campaign", subject_id=campaign.id, ip=ip, details=details)


def _require_lead(*, session: Session, campaign: Campaign, user: User) -> None:
    require(session=session, campaign_id=campaign.id, user=user, action=Action.manage_coalition,  # type: ignore[arg-type]
            what="campaign")


def start(*, session: Session, title: str, lead_organisation: Organisation, user: User, description: str | None,
          ip: str | None) -> Campaign:
    """Creates a campaign the user's organisation leads."""
    campaign = service.create(session=session, title=title, lead_organisation=lead_organisation, created_by=user,
                              description=description)
    audit.record(session=session, action="campaign_created", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="campaign", subject_id=campaign.id, ip=ip)
    return campaign


def invite(*, session: Session, campaign: Campaign, email: str, organisation_name: str, role: str, user: User,
           settings: Settings, ip: str | None) -> CoalitionInvite:
    """Invites a partner's staff member (the email is queued)."""
    _require_lead(session=session, campaign=campaign, user=user)
    created, _ = service.create_invite(session=session, campaign=campaign, email=email,
                                       organisation_name=organisation_name, role=role, invited_by=user,
                                       settings=settings)
    _record(session=session, action="coalition_invite_sent", user=user, campaign=campaign, ip=ip,
            details={"invite_id": created.id, "email": created.email, "role": created.role})
    return created


def revoke(*, session: Session, campaign: Campaign, invite_id: int, user: User, ip: str | None) -> CoalitionInvite:
    """Withdraws a pending invite: its link stops working."""
    _require_lead(session=session, campaign=campaign, user=user)
    revoked = service.revoke_invite(session=session, campaign=campaign, invite_id=invite_id)
    _record(session=session, action="coalition_invite_revoked", user=user, campaign=campaign, ip=ip,
            details={"invite_id": revoked.id})
    return revoked


def change_role(*, session: Session, campaign: Campaign, member_id: int, role: str, user: User,
                ip: str | None) -> CoalitionMember:
    """Changes a partner's role."""
    _require_lead(session=session, campaign=campaign, user=user)
    member = service.update_member_role(session=session, campaign=campaign, member_id=member_id, role=role)
    _record(session=session, action="coalition_role_changed", user=user, campaign=campaign, ip=ip,
            details={"organisation_id": member.organisation_id, "role": member.role})
    return member


def remove(*, session: Session, campaign: Campaign, member_id: int, user: User, ip: str | None) -> None:
    """Takes a partner organisation out of the coalition."""
    _require_lead(session=session, campaign=campaign, user=user)
    organisation_id = service.get_member(session=session, campaign=campaign, member_id=member_id).organisation_id
    service.remove_member(session=session, campaign=campaign, member_id=member_id)
    _record(session=session, action="coalition_member_removed", user=user, campaign=campaign, ip=ip,
            details={"organisation_id": organisation_id})


def join(*, session: Session, invite: CoalitionInvite, user: User, organisation_choice: str,
         ip: str | None) -> tuple[Campaign, Organisation]:
    """Accepts an invite (by the person it was sent to): their chosen or a new organisation joins."""
    campaign, organisation = service.accept(session=session, invite=invite, user=user,
                                            organisation_choice=organisation_choice)
    _record(session=session, action="coalition_invite_accepted", user=user, campaign=campaign, ip=ip,
            details={"organisation_id": organisation.id})
    return campaign, organisation
