"""Site admin use cases: creating an organisation and adding its members. Each checks the user is a site admin,
changes, writes its audit line; the route parses the form, commits and renders."""

from __future__ import annotations

from sqlmodel import Session

from backend import text
from backend.accounts import policy
from backend.accounts import service as accounts
from backend.accounts.forms import errors_of
from backend.accounts.models import Organisation, User
from backend.audit import service as audit


def create_organisation(
    *, session: Session, admin: User, name: str, website: str, charity_number: str, ip: str | None,
) -> tuple[Organisation | None, dict[str, str]]:
    """Creates an organisation: (it, {}), or (None, the message of each field that is wrong) with nothing changed."""
    policy.ensure_site_admin(admin)
    errors = errors_of(
        ("name", lambda: accounts.clean_name(name, what="the organisation's name")),
        ("website", lambda: text.clean_website(website)),
        ("charity_number", lambda: accounts.clean_charity_number(charity_number)),
    )
    if errors:
        return None, errors
    organisation = accounts.create_organisation(session=session, name=name, website=website,
                                                charity_number=charity_number)
    audit.record(session=session, action="organisation_created", actor=audit.actor_of(admin), actor_user_id=admin.id,
                 subject_type="organisation", subject_id=organisation.id, ip=ip)
    return organisation, {}


def add_member(
    *, session: Session, admin: User, organisation: Organisation, email: str, role: str, ip: str | None,
) -> User:
    """Adds an existing account to the organisation with this role (InvalidInput when the role or the address is
    not one)."""
    policy.ensure_site_admin(admin)
    user = accounts.add_member_by_email(session=session, organisation=organisation, email=email, role=role)
    audit.record(session=session, action="membership_added", actor=audit.actor_of(admin), actor_user_id=admin.id,
                 subject_type="organisation", subject_id=organisation.id, ip=ip,
                 details={"user_id": user.id, "role": role})
    return user
