"""Campaigns and coalition roles: who may do what on a campaign's letters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend.accounts.models import Membership, Organisation, User
from backend.accounts.service import (
    add_membership,
    create_organisation,
    normalise_email,
    organisations_of,
    slugify,
    unique_slug,
)
from backend.campaigns.enums import CoalitionRole
from backend.campaigns.models import COALITION_ROLES, Campaign, CoalitionInvite, CoalitionMember
from backend.config import Settings
from backend.db import as_utc, utcnow
from backend.errors import Forbidden, InvalidInput, NotFound, TokenInvalid
from backend.mail import service as mail
from backend.security import hash_token, new_token

# What each coalition role may do; a higher role includes the lower ones.
ROLE_RANK = {"viewer": 1, "editor": 2, "lead": 3}


def get(*, session: Session, campaign_id: int) -> Campaign | None:
    """Gets a campaign by id."""
    return session.get(Campaign, campaign_id)


def get_by_slug(*, session: Session, slug: str) -> Campaign | None:
    """Gets a campaign by slug."""
    return session.exec(select(Campaign).where(Campaign.slug == slug)).first()


def create(
    *, session: Session, title: str, lead_organisation: Organisation, created_by: User | None,
    description: str | None = None,
) -> Campaign:
    """Creates a campaign led by an organisation (which becomes its `lead` coalition member)."""
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("Enter a title for the campaign.", field="title")
    if len(title) > 200:
        raise InvalidInput("The title is too long (200 characters at most).", field="title")
    campaign = Campaign(
        title=title,
        slug=unique_slug(session=session, model=Campaign, base=slugify(title)),
        description=description or None,
        lead_organisation_id=lead_organisation.id,  # type: ignore[arg-type]
        created_by_id=created_by.id if created_by else None,
    )
    session.add(campaign)
    session.flush()
    add_member(session=session, campaign=campaign, organisation=lead_organisation, role="lead")
    return campaign


def add_member(*, session: Session, campaign: Campaign, organisation: Organisation, role: str) -> CoalitionMember:
    """Adds an organisation to the coalition, or changes its role."""
    if role not in COALITION_ROLES:
        raise InvalidInput(f"Choose a role: {', '.join(COALITION_ROLES)}.", field="role")
    member = session.exec(
        select(CoalitionMember)
        .where(CoalitionMember.campaign_id == campaign.id)
        .where(CoalitionMember.organisation_id == organisation.id)
    ).first()
    if member is None:
        member = CoalitionMember(campaign_id=campaign.id, organisation_id=organisation.id, role=role)  # type: ignore[arg-type]
    else:
        member.role = CoalitionRole(role)
    session.add(member)
    session.flush()
    return member


def role_of(*, session: Session, campaign_id: int, user: User | None) -> str | None:
    """The user's best coalition role on the campaign through their organisations (site admins: lead)."""
    if user is None:
        return None
    if user.is_admin:
        return "lead"
    roles = session.exec(
        select(CoalitionMember.role)
        .join(Membership, col(Membership.organisation_id) == CoalitionMember.organisation_id)
        .where(CoalitionMember.campaign_id == campaign_id)
        .where(Membership.user_id == user.id)
    ).all()
    return max(roles, key=lambda r: ROLE_RANK.get(r, 0), default=None)


def get_for_user(*, session: Session, user: User) -> list[Campaign]:
    """Campaigns the user's organisations are in, newest first."""
    stmt = (
        select(Campaign)
        .join(CoalitionMember, col(CoalitionMember.campaign_id) == Campaign.id)
        .join(Membership, col(Membership.organisation_id) == CoalitionMember.organisation_id)
        .where(Membership.user_id == user.id)
        .distinct()
        .order_by(col(Campaign.created_at).desc())
    )
    return list(session.exec(stmt))


# Coalition members -----------------------------------------------------------------------------------

INVITE_ROLES = ("editor", "viewer")


def get_members(*, session: Session, campaign_id: int) -> list[tuple[CoalitionMember, Organisation]]:
    """The coalition's organisations with their roles: the lead first, then by name."""
    stmt = (
        select(CoalitionMember, Organisation)
        .join(Organisation, col(Organisation.id) == CoalitionMember.organisation_id)
        .where(CoalitionMember.campaign_id == campaign_id)
    )
    rows = [(m, o) for m, o in session.exec(stmt)]
    return sorted(rows, key=lambda r: (-ROLE_RANK.get(r[0].role, 0), r[1].name.casefold()))


def get_member(*, session: Session, campaign: Campaign, member_id: int) -> CoalitionMember:
    """Gets one coalition member of this campaign, or NotFound."""
    member = session.get(CoalitionMember, member_id)
    if member is None or member.campaign_id != campaign.id:
        raise NotFound("That organisation is not in this campaign's coalition.")
    return member


def update_member_role(*, session: Session, campaign: Campaign, member_id: int, role: str) -> CoalitionMember:
    """Changes a partner's role (editor or viewer); the lead organisation keeps its role."""
    member = get_member(session=session, campaign=campaign, member_id=member_id)
    if member.organisation_id == campaign.lead_organisation_id:
        raise InvalidInput("The lead organisation's role cannot change.", field="role")
    if role not in INVITE_ROLES:
        raise InvalidInput("Choose editor or viewer.", field="role")
    member.role = CoalitionRole(role)
    session.add(member)
    session.flush()
    return member


def remove_member(*, session: Session, campaign: Campaign, member_id: int) -> None:
    """Takes a partner organisation out of the coalition (never the lead)."""
    member = get_member(session=session, campaign=campaign, member_id=member_id)
    if member.organisation_id == campaign.lead_organisation_id:
        raise InvalidInput("The lead organisation cannot be removed from its own campaign.", field="role")
    session.delete(member)
    session.flush()


def lead_organisation_choices(*, session: Session, user: User) -> list[Organisation]:
    """The organisations a user may start a campaign for (those they belong to)."""
    return organisations_of(session=session, user_id=user.id)  # type: ignore[arg-type]


# Coalition invites -----------------------------------------------------------------------------------

def invite_status(invite: CoalitionInvite) -> str:
    """pending, accepted, revoked or expired."""
    if invite.accepted_at is not None:
        return "accepted"
    if invite.revoked_at is not None:
        return "revoked"
    expires_at = as_utc(invite.expires_at)
    if expires_at is not None and utcnow() >= expires_at:
        return "expired"
    return "pending"


def get_invites(*, session: Session, campaign_id: int) -> list[CoalitionInvite]:
    """The campaign's coalition invites, newest first."""
    stmt = (
        select(CoalitionInvite)
        .where(CoalitionInvite.campaign_id == campaign_id)
        .order_by(col(CoalitionInvite.created_at).desc(), col(CoalitionInvite.id).desc())
    )
    return list(session.exec(stmt))


def create_invite(
    *, session: Session, campaign: Campaign, email: str, organisation_name: str, role: str, invited_by: User,
    settings: Settings,
) -> tuple[CoalitionInvite, str]:
    """Invites a partner's staff member by email; queues the email and returns the invite and its raw token."""
    errors: dict[str, str] = {}
    try:
        email = normalise_email(email)
    except InvalidInput as exc:
        errors["email"] = exc.message
    organisation_name = " ".join((organisation_name or "").split())
    if not organisation_name:
        errors["organisation_name"] = "Enter the partner organisation's name."
    elif len(organisation_name) > 200:
        errors["organisation_name"] = "The organisation's name is too long (200 characters at most)."
    if role not in INVITE_ROLES:
        errors["role"] = "Choose editor or viewer."
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidInput(message, field=field)
    token = new_token()
    invite = CoalitionInvite(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        email=email,
        organisation_name=organisation_name,
        role=CoalitionRole(role),
        token_hash=hash_token(token),
        expires_at=utcnow() + timedelta(days=settings.coalition_invite_days),
        invited_by_id=invited_by.id,
    )
    session.add(invite)
    session.flush()
    lead = session.get(Organisation, campaign.lead_organisation_id)
    mail.enqueue(
        session=session, to=email, template="coalition_invite",
        context={
            "campaign": campaign, "lead_name": lead.name if lead else "", "inviter_name": invited_by.name,
            "organisation_name": organisation_name, "role": role, "role_phrase": role_phrase(role),
            "days": settings.coalition_invite_days,
            "link": settings.base_url.rstrip("/") + f"/coalition/invites/{token}",
        },
    )
    return invite, token


def revoke_invite(*, session: Session, campaign: Campaign, invite_id: int) -> CoalitionInvite:
    """Revokes a pending invite so its link stops working."""
    invite = session.get(CoalitionInvite, invite_id)
    if invite is None or invite.campaign_id != campaign.id:
        raise NotFound("There is no such invite on this campaign.")
    if invite.accepted_at is not None:
        raise InvalidInput("This invite was already accepted: change the organisation's role instead.")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        session.add(invite)
        session.flush()
    return invite


def peek_invite(*, session: Session, token: str) -> CoalitionInvite:
    """The invite for a link if it can still be accepted (TokenInvalid otherwise)."""
    invite = session.exec(
        select(CoalitionInvite).where(CoalitionInvite.token_hash == hash_token(token or ""))
    ).first()
    if invite is None:
        raise TokenInvalid("This invitation link is not valid. Check you copied the whole link from the email.")
    status = invite_status(invite)
    if status == "accepted":
        raise TokenInvalid("This invitation has already been accepted. Each link works once.")
    if status == "revoked":
        raise TokenInvalid("This invitation was withdrawn by the campaign's lead organisation.")
    if status == "expired":
        raise TokenInvalid("This invitation has expired. Ask the campaign's lead organisation for a new one.")
    return invite


def check_invitee(*, invite: CoalitionInvite, user: User) -> None:
    """Only the person the invite was sent to may accept it (a forwarded link is not enough)."""
    if user.email.casefold() != invite.email.casefold():
        raise Forbidden(
            f"This invitation was sent to {invite.email}, but you are logged in as {user.email}. "
            "Log out and log in (or create an account) with the invited address."
        )


def accept_invite(
    *, session: Session, token: str, user: User, organisation_choice: str,
) -> tuple[Campaign, Organisation]:
    """Accepts an invite: the chosen (or a new) organisation of the user joins the coalition with the role."""
    return accept(session=session, invite=peek_invite(session=session, token=token), user=user,
                  organisation_choice=organisation_choice)


def accept(
    *, session: Session, invite: CoalitionInvite, user: User, organisation_choice: str,
) -> tuple[Campaign, Organisation]:
    """Accepts an invite that can still be accepted, by the person it was sent to."""
    check_invitee(invite=invite, user=user)
    own = {str(o.id): o for o in organisations_of(session=session, user_id=user.id)}  # type: ignore[arg-type]
    if organisation_choice == "new":
        organisation = create_organisation(session=session, name=invite.organisation_name)
        add_membership(session=session, user=user, organisation=organisation, role="admin")
    elif organisation_choice in own:
        organisation = own[organisation_choice]
    else:
        raise InvalidInput("Choose the organisation you are joining for.", field="organisation")
    # Spend the invite once, even if two requests race.
    result = session.execute(
        update(CoalitionInvite)
        .where(col(CoalitionInvite.id) == invite.id)
        .where(col(CoalitionInvite.accepted_at).is_(None))
        .values(accepted_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid("This invitation has already been accepted. Each link works once.")
    campaign = session.get(Campaign, invite.campaign_id)
    if campaign is None:
        raise NotFound("The campaign for this invitation no longer exists.")
    current = role_of_organisation(session=session, campaign_id=campaign.id, organisation_id=organisation.id)  # type: ignore[arg-type]
    if current is None or ROLE_RANK[current] < ROLE_RANK[invite.role]:
        add_member(session=session, campaign=campaign, organisation=organisation, role=invite.role)
    return campaign, organisation


def role_phrase(role: str) -> str:
    """The role with its article: "an editor", "a viewer", "the lead"."""
    return "the lead" if role == "lead" else ("an " if role[:1] in "aeiou" else "a ") + role


def suggested_organisation(*, session: Session, invite: CoalitionInvite, user: User) -> str:
    """The choice to preselect: the user's organisation with the invited name, else a new one."""
    wanted = " ".join(invite.organisation_name.split()).casefold()
    for org in organisations_of(session=session, user_id=user.id):  # type: ignore[arg-type]
        if org.name.casefold() == wanted:
            return str(org.id)
    return "new"


def role_of_organisation(*, session: Session, campaign_id: int, organisation_id: int) -> str | None:
    """The organisation's coalition role on the campaign, or None."""
    return session.exec(
        select(CoalitionMember.role)
        .where(CoalitionMember.campaign_id == campaign_id)
        .where(CoalitionMember.organisation_id == organisation_id)
    ).first()
