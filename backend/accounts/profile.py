"""A user's details and their organisation's: each use case checks permission (accounts/policy.py), changes,
writes its audit line; the route parses the form, commits and renders."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from backend import text
from backend.accounts import policy, service
from backend.accounts.forms import errors_of
from backend.accounts.models import Organisation, User
from backend.audit import service as audit
from backend.errors import Forbidden, NotFound


def update_profile(*, session: Session, user: User, name: str, ip: str | None) -> User:
    """Updates the user's name (InvalidInput, before any change, when it is not one)."""
    service.update_profile(session=session, user=user, name=name)
    audit.record(session=session, action="profile_updated", actor=audit.actor_of(user), actor_user_id=user.id, ip=ip)
    return user


@dataclass(frozen=True)
class OrganisationAccess:
    """An organisation as one user sees it: their role in it (None for a site admin who is not a member) and
    whether they may change its details."""

    organisation: Organisation
    role: str | None
    can_edit: bool


def organisation_for(*, session: Session, user: User, slug: str) -> OrganisationAccess:
    """The organisation at this slug for a member or a site admin; NotFound for anyone else, as for no organisation."""
    organisation = service.get_organisation_by_slug(session=session, slug=slug)
    if organisation is None:
        raise NotFound("There is no organisation at this address.")
    role = service.role_in(session=session, user_id=user.id, organisation_id=organisation.id)
    if not policy.can_see_organisation(user=user, role=role):
        raise NotFound("There is no organisation at this address.")
    return OrganisationAccess(organisation=organisation, role=role,
                              can_edit=policy.can_edit_organisation(user=user, role=role))


def update_organisation(
    *, session: Session, user: User, access: OrganisationAccess, name: str, website: str, charity_number: str,
    description: str, ip: str | None,
) -> dict[str, str]:
    """Saves the organisation's details (the slug stays); Forbidden unless the user may edit it. Returns the
    message of each field that is wrong (and changes nothing), or an empty dict once saved."""
    if not policy.can_edit_organisation(user=user, role=access.role):
        raise Forbidden("Only an admin of this organisation can change its details.")
    errors = errors_of(
        ("name", lambda: service.clean_name(name, what="the organisation's name")),
        ("website", lambda: text.clean_website(website)),
        ("charity_number", lambda: service.clean_charity_number(charity_number)),
        ("description", lambda: service.clean_description(description)),
    )
    if errors:
        return errors
    organisation = access.organisation
    service.update_organisation(session=session, organisation=organisation, name=name, website=website,
                                charity_number=charity_number, description=description)
    audit.record(session=session, action="organisation_updated", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="organisation", subject_id=organisation.id, ip=ip)
    return {}
