"""Campaign pages: the list, a new campaign, the coalition (members, roles, invites) and invite links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from backend.accounts.deps import CurrentUser, OptionalUser, ensure_verified
from backend.accounts.models import Organisation, User
from backend.accounts.service import organisations_of
from backend.campaigns import coalition, pending, service
from backend.campaigns.deps import load_campaign
from backend.campaigns.forms import CampaignForm, CoalitionInviteForm, InviteAcceptForm, MemberRoleForm
from backend.campaigns.models import Campaign, CoalitionInvite
from backend.campaigns.policy import Action, Permissions
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import InvalidInput, ServiceError
from backend.letters import service as letters
from backend.security import client_ip
from backend.signatures import progress as signatory_progress
from backend.web import flash, render

router = APIRouter()



@router.get("/campaigns", response_class=HTMLResponse, name="campaigns")
def campaign_list(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    campaigns = service.get_for_user(session=session, user=user)
    roles = {c.id: service.role_of(session=session, campaign_id=c.id, user=user) for c in campaigns}  # type: ignore[arg-type]
    letter_lists = {c.id: letters.get_for_campaign(session=session, campaign_id=c.id) for c in campaigns}  # type: ignore[arg-type]
    progress = signatory_progress.get_many(session=session, letters=[x for ls in letter_lists.values() for x in ls])
    return render(request, "campaigns/list.html", {"campaigns": campaigns, "roles": roles, "letters": letter_lists,
                                                   "progress": progress,
                                                   "pending": pending.get_all(session=session, user=user)})


def _new_page(request: Request, session: Session, user: User, values: dict[str, str], errors: dict[str, str],
              status_code: int = 200) -> HTMLResponse:
    organisations = service.lead_organisation_choices(session=session, user=user)
    return render(request, "campaigns/new.html",
                  {"organisations": organisations, "values": values, "errors": errors}, status_code=status_code)


@router.get("/campaigns/new", response_class=HTMLResponse, name="campaign_new")
def campaign_new(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    ensure_verified(user)
    return _new_page(request, session, user, {}, {})


@router.post("/campaigns/new", name="campaign_create")
def campaign_create(request: Request, session: SessionDep, user: CurrentUser,
                    form: Annotated[CampaignForm, Form()]) -> Response:
    ensure_verified(user)
    values = form.values()
    organisations = {str(o.id): o for o in service.lead_organisation_choices(session=session, user=user)}
    errors: dict[str, str] = {}
    lead: Organisation | None = organisations.get(values["organisation"])
    if lead is None and len(organisations) == 1:
        lead = next(iter(organisations.values()))
    if lead is None:
        errors["organisation"] = ("Choose the organisation that leads this campaign." if organisations
                                  else "Your account is not linked to an organisation yet.")
    if len(values["description"]) > 5000:
        errors["description"] = "The description is too long (5,000 characters at most)."
    if not errors and lead is not None:
        try:
            campaign = coalition.start(session=session, title=values["title"], lead_organisation=lead, user=user,
                                       description=values["description"].strip() or None, ip=client_ip(request))
        except InvalidInput as exc:
            errors[exc.field or "title"] = exc.message
        else:
            session.commit()
            flash(request, f"Campaign “{campaign.title}” created. Your organisation leads it.", "success")
            return RedirectResponse(f"/campaigns/{campaign.slug}", status_code=303)
    if not values["title"].strip():
        errors.setdefault("title", "Enter a title for the campaign.")
    session.rollback()
    return _new_page(request, session, user, values, errors, status_code=422)


def _campaign_page(request: Request, session: Session, campaign: Campaign, role: str,
                   invite_values: dict[str, str] | None = None, invite_errors: dict[str, str] | None = None,
                   status_code: int = 200) -> HTMLResponse:
    lead = session.get(Organisation, campaign.lead_organisation_id)
    perms = Permissions.of(role)
    invites = service.get_invites(session=session, campaign_id=campaign.id) if perms.manage_coalition else []  # type: ignore[arg-type]
    letter_list = letters.get_for_campaign(session=session, campaign_id=campaign.id)  # type: ignore[arg-type]
    return render(request, "campaigns/show.html", {
        "campaign": campaign, "role": role, "perms": perms, "lead": lead, "role_phrase": service.role_phrase(role),
        "members": service.get_members(session=session, campaign_id=campaign.id),  # type: ignore[arg-type]
        "letters": letter_list, "progress": signatory_progress.get_many(session=session, letters=letter_list),
        "invites": [(i, service.invite_status(i)) for i in invites],
        "invite_values": invite_values or {"role": "editor"}, "errors": invite_errors or {},
        "roles": service.INVITE_ROLES,
    }, status_code=status_code)


@router.get("/campaigns/{slug}", response_class=HTMLResponse, name="campaign")
def campaign_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    campaign, role = load_campaign(session=session, slug=slug, user=user, action=Action.read)
    return _campaign_page(request, session, campaign, role)


@router.post("/campaigns/{slug}/invites", name="coalition_invite_create")
def invite_create(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                  form: Annotated[CoalitionInviteForm, Form()], slug: str) -> Response:
    campaign, role = load_campaign(session=session, slug=slug, user=user, action=Action.manage_coalition)
    values = form.values()
    try:
        invite = coalition.invite(session=session, campaign=campaign, email=values["email"],
                                  organisation_name=values["organisation_name"], role=values["role"], user=user,
                                  settings=settings, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _campaign_page(request, session, campaign, role, values, {exc.field or "email": exc.message},
                              status_code=422)
    session.commit()
    flash(request, f"Invitation sent to {invite.email} ({invite.role}).", "success")
    return RedirectResponse(f"/campaigns/{campaign.slug}#coalition", status_code=303)


@router.post("/campaigns/{slug}/invites/{invite_id}/revoke", name="coalition_invite_revoke")
def invite_revoke(request: Request, session: SessionDep, user: CurrentUser, slug: str, invite_id: int) -> Response:
    campaign, _ = load_campaign(session=session, slug=slug, user=user, action=Action.manage_coalition)
    invite = coalition.revoke(session=session, campaign=campaign, invite_id=invite_id, user=user,
                              ip=client_ip(request))
    session.commit()
    flash(request, f"The invitation to {invite.email} is withdrawn; its link no longer works.")
    return RedirectResponse(f"/campaigns/{campaign.slug}#coalition", status_code=303)


@router.post("/campaigns/{slug}/members/{member_id}", name="coalition_member_update")
def member_update(request: Request, session: SessionDep, user: CurrentUser, form: Annotated[MemberRoleForm, Form()],
                  slug: str, member_id: int) -> Response:
    campaign, _ = load_campaign(session=session, slug=slug, user=user, action=Action.manage_coalition)
    member = coalition.change_role(session=session, campaign=campaign, member_id=member_id, role=form.role,
                                   user=user, ip=client_ip(request))
    session.commit()
    flash(request, f"Role changed to {member.role}.", "success")
    return RedirectResponse(f"/campaigns/{campaign.slug}#coalition", status_code=303)


@router.post("/campaigns/{slug}/members/{member_id}/remove", name="coalition_member_remove")
def member_remove(request: Request, session: SessionDep, user: CurrentUser, slug: str, member_id: int) -> Response:
    campaign, _ = load_campaign(session=session, slug=slug, user=user, action=Action.manage_coalition)
    coalition.remove(session=session, campaign=campaign, member_id=member_id, user=user, ip=client_ip(request))
    session.commit()
    flash(request, "The organisation was removed from the coalition.", "success")
    return RedirectResponse(f"/campaigns/{campaign.slug}#coalition", status_code=303)


def _invite_page(request: Request, session: Session, user: User, token: str, choice: str | None = None,
                 errors: dict[str, str] | None = None, status_code: int = 200,
                 invite: CoalitionInvite | None = None) -> HTMLResponse:
    invite = invite or service.peek_invite(session=session, token=token)
    campaign = session.get(Campaign, invite.campaign_id)
    lead = session.get(Organisation, campaign.lead_organisation_id) if campaign else None
    wrong_account = None
    try:
        service.check_invitee(invite=invite, user=user)
    except ServiceError as exc:
        wrong_account = exc.message
    suggested = service.suggested_organisation(session=session, invite=invite, user=user)
    return render(request, "campaigns/invite.html", {
        "invite": invite, "campaign": campaign, "lead": lead, "token": token, "wrong_account": wrong_account,
        "organisations": organisations_of(session=session, user_id=user.id),  # type: ignore[arg-type]
        "choice": choice or suggested, "errors": errors or {},
        # One of their organisations already has the invited name: a new one of the same name is not offered.
        "offer_new": suggested == "new", "role_phrase": service.role_phrase(invite.role),
    }, status_code=status_code)


@router.get("/coalition/invites/{token}", response_class=HTMLResponse, name="coalition_invite")
def invite_page(request: Request, session: SessionDep, user: OptionalUser, token: str) -> HTMLResponse:
    # A GET only shows the invitation: mail scanners fetch links, so accepting needs the button (POST).
    if user is None:  # say what the link is before asking anyone to log in or sign up
        invite = service.peek_invite(session=session, token=token)
        campaign = session.get(Campaign, invite.campaign_id)
        lead = session.get(Organisation, campaign.lead_organisation_id) if campaign else None
        return render(request, "campaigns/invite_intro.html", {
            "invite": invite, "campaign": campaign, "lead": lead, "token": token,
            "role_phrase": service.role_phrase(invite.role)})
    return _invite_page(request, session, user, token)


@router.get("/coalition/pending/{invite_id}", response_class=HTMLResponse, name="coalition_pending")
def pending_page(request: Request, session: SessionDep, user: CurrentUser, invite_id: int) -> HTMLResponse:
    invite = pending.get(session=session, user=user, invite_id=invite_id)
    return _invite_page(request, session, user, "", invite=invite)


@router.post("/coalition/pending/{invite_id}", name="coalition_pending_accept")
def pending_accept(request: Request, session: SessionDep, user: CurrentUser,
                   form: Annotated[InviteAcceptForm, Form()], invite_id: int) -> Response:
    invite = pending.get(session=session, user=user, invite_id=invite_id)
    choice = form.organisation
    try:
        campaign, organisation = coalition.join(session=session, invite=invite, user=user,
                                                organisation_choice=choice, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _invite_page(request, session, user, "", choice, {exc.field or "organisation": exc.message},
                            status_code=422, invite=invite)
    return _accepted(request, session, user, campaign, organisation)


@router.post("/coalition/invites/{token}", name="coalition_invite_accept")
def invite_accept(request: Request, session: SessionDep, user: CurrentUser,
                  form: Annotated[InviteAcceptForm, Form()], token: str) -> Response:
    choice = form.organisation
    try:
        invite = service.peek_invite(session=session, token=token)
        campaign, organisation = coalition.join(session=session, invite=invite, user=user,
                                                organisation_choice=choice, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _invite_page(request, session, user, token, choice, {exc.field or "organisation": exc.message},
                            status_code=422)
    return _accepted(request, session, user, campaign, organisation)


def _accepted(request: Request, session: Session, user: User, campaign: Campaign,
              organisation: Organisation) -> Response:
    session.commit()
    flash(request, f"{organisation.name} has joined the coalition for “{campaign.title}”.", "success")
    return RedirectResponse(f"/campaigns/{campaign.slug}", status_code=303)
