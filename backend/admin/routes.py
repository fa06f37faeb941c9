"""Site admin pages: organisations and accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.accounts import service as accounts
from backend.accounts.deps import AdminUser
from backend.accounts.forms import MemberForm, OrganisationForm
from backend.accounts.models import MEMBERSHIP_ROLES, Organisation
from backend.admin import service
from backend.db import SessionDep
from backend.errors import InvalidInput
from backend.security import client_ip
from backend.signatures import limits
from backend.web import flash, path_for, render

router = APIRouter(prefix="/admin")


def _index(request: Request, session: SessionDep, values: dict[str, str], errors: dict[str, str],
           status_code: int = 200) -> HTMLResponse:
    return render(request, "admin/index.html", {
        "organisations": accounts.get_all_organisations(session=session),
        "users": accounts.get_all_users(session=session),
        "limit_hits": limits.recent_hits(session=session),
        "values": values, "errors": errors,
    }, status_code=status_code)


@router.get("", response_class=HTMLResponse, name="admin")
def admin_index(request: Request, session: SessionDep, admin: AdminUser) -> HTMLResponse:
    return _index(request, session, {}, {})


@router.post("/organisations", name="admin_create_organisation")
def create_organisation(
    request: Request, session: SessionDep, admin: AdminUser, form: Annotated[OrganisationForm, Form()],
) -> Response:
    name, website, charity_number = form.name, form.website, form.charity_number
    values = {"name": name[:300], "website": website[:600], "charity_number": charity_number[:100]}
    organisation, errors = service.create_organisation(session=session, admin=admin, name=name, website=website,
                                                       charity_number=charity_number, ip=client_ip(request))
    if organisation is None:
        return _index(request, session, values, errors, status_code=422)
    session.commit()
    flash(request, f"{organisation.name} has been created. Add its first member below.", "success")
    return RedirectResponse(path_for(request, "admin_organisation", slug=organisation.slug), status_code=303)


def _organisation(session: SessionDep, slug: str) -> Organisation:
    organisation = accounts.get_organisation_by_slug(session=session, slug=slug)
    if organisation is None:
        raise HTTPException(404, "There is no organisation at this address.")
    return organisation


def _organisation_page(request: Request, session: SessionDep, organisation: Organisation, values: dict[str, str],
                       errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    return render(request, "admin/organisation.html", {
        "organisation": organisation, "roles": MEMBERSHIP_ROLES,
        "members": accounts.members_of(session=session, organisation_id=organisation.id),  # type: ignore[arg-type]
        "values": values, "errors": errors,
    }, status_code=status_code)


@router.get("/organisations/{slug}", response_class=HTMLResponse, name="admin_organisation")
def organisation_page(request: Request, session: SessionDep, admin: AdminUser, slug: str) -> HTMLResponse:
    return _organisation_page(request, session, _organisation(session, slug), {"role": "member"}, {})


@router.post("/organisations/{slug}/members", name="admin_add_member")
def add_member(
    request: Request, session: SessionDep, admin: AdminUser, slug: str, form: Annotated[MemberForm, Form()],
) -> Response:
    email, role = form.email, form.role
    organisation = _organisation(session, slug)
    try:
        user = service.add_member(session=session, admin=admin, organisation=organisation, email=email, role=role,
                                  ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return _organisation_page(request, session, organisation, {"email": email[:300], "role": role[:20]},
                                  {exc.field or "email": exc.message}, status_code=422)
    session.commit()
    flash(request, f"{user.name} ({user.email}) is now a{'n' if role == 'admin' else ''} {role} of "
          f"{organisation.name}.", "success")
    return RedirectResponse(path_for(request, "admin_organisation", slug=organisation.slug), status_code=303)
