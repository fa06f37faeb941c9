"""Pages where a person sees, downloads and erases what is held about them."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend import ratelimit
from backend.accounts.deps import AdminUser, CurrentUser
from backend.accounts.models import User
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import Conflict, InvalidInput
from backend.privacy import accounts as accounts_privacy
from backend.privacy import service, subject
from backend.security import client_ip
from backend.web import flash, path_for, render

router = APIRouter()

OptText = Annotated[str, Form(max_length=200)]


def _limit(request: Request, session: SessionDep, settings: Settings, scope: str, setting: str) -> None:
    ratelimit.enforce(request=request, session=session, scope=f"signatures:{scope}", key=client_ip(request),
                      limit=str(getattr(settings, setting)))


def _json_download(data: dict[str, object], filename: str) -> Response:
    return Response(json.dumps(data, indent=2, ensure_ascii=False, default=str), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@router.get("/manage/{token}/data", response_class=HTMLResponse, name="signatory_data")
def signatory_data_page(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> HTMLResponse:
    _limit(request, session, settings, "token-page", "rate_limit_sign_link_page")
    data = service.signatory_data(session=session, token=token)
    response = render(request, "privacy/signatory.html", {"data": data, "token": token, "errors": {},
                                                         "fields": service.SIGNATURE_FIELDS})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/manage/{token}/data.json", name="signatory_data_json")
def signatory_data_json(request: Request, session: SessionDep, settings: SettingsDep, token: str) -> Response:
    _limit(request, session, settings, "token-page", "rate_limit_sign_link_page")
    data = service.signatory_data(session=session, token=token)
    return _json_download(service.signatory_export(data), f"{data.letter.slug}-my-signature.json")


@router.post("/manage/{token}/erase", name="signatory_erase")
def signatory_erase(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                    confirm: OptText = "") -> Response:
    _limit(request, session, settings, "confirm", "rate_limit_sign_confirm")
    if confirm != "yes":
        data = service.signatory_data(session=session, token=token)
        errors = {"confirm": "Tick the box to confirm that you want your data erased."}
        return render(request, "privacy/signatory.html", {"data": data, "token": token, "errors": errors,
                                                         "fields": service.SIGNATURE_FIELDS}, status_code=422)
    outcome = service.erase_signatory(session=session, settings=settings, token=token)
    session.commit()
    return render(request, "privacy/erased.html", {"outcome": outcome, "published": outcome.letter.status ==
                                                    "published"})


# An account holder, from their profile -------------------------------------------------------------------

def _close_page(request: Request, session: SessionDep, user: User, errors: dict[str, str] | None = None,
                status_code: int = 200) -> HTMLResponse:
    handovers = accounts_privacy.handovers_needed(session=session, user=user)
    return render(request, "privacy/close_account.html", {
        "user": user, "handovers": handovers, "blocked": bool(handovers), "errors": errors or {}},
        status_code=status_code)


@router.get("/account/data.json", name="account_data_json")
def account_data_json(session: SessionDep, user: CurrentUser) -> Response:
    return _json_download(accounts_privacy.account_export(session=session, user=user), "my-account.json")


@router.get("/account/close", response_class=HTMLResponse, name="account_close")
def account_close_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return _close_page(request, session, user)


@router.post("/account/handover", name="account_handover")
def account_handover(request: Request, session: SessionDep, user: CurrentUser, organisation_id: OptText = "",
                     user_id: OptText = "") -> Response:
    try:
        colleague = accounts_privacy.hand_over(session=session, user=user, organisation_id=int(organisation_id or 0),
                                               to_user_id=int(user_id or 0), ip=client_ip(request))
    except ValueError:
        return _close_page(request, session, user, {"handover": "Choose a colleague."}, status_code=422)
    session.commit()
    flash(request, f"{colleague.name} is now an admin.", "success")
    return RedirectResponse(path_for(request, "account_close"), status_code=303)


@router.post("/account/close", name="account_close_submit")
def account_close_submit(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                         password: Annotated[str, Form(max_length=1000)] = "", confirm: OptText = "") -> Response:
    if confirm != "yes":
        return _close_page(request, session, user, {"confirm": "Tick the box to confirm you want to close it."},
                           status_code=422)
    ratelimit.enforce(request=request, session=session, scope="login-account", key=user.email, count=False,
                      limit=settings.rate_limit_login_account, actor=f"user:{user.id}")
    try:
        accounts_privacy.close_account(session=session, user=user, password=password)
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        if exc.field == "password":
            ratelimit.hit(scope="login-account", key=user.email, limit=settings.rate_limit_login_account)
        return _close_page(request, session, user, {exc.field or "form": exc.message}, status_code=exc.status_code)
    session.commit()
    request.state.end_session = True
    flash(request, "Your account is closed and its personal data erased.", "success")
    return RedirectResponse(path_for(request, "home"), status_code=303)


# Site admins: subject access -----------------------------------------------------------------------------

def _subject_page(request: Request, *, email: str = "", found: subject.Found | None = None,
                  errors: dict[str, str] | None = None, erased: dict[str, int] | None = None,
                  status_code: int = 200) -> HTMLResponse:
    response = render(request, "privacy/subject.html", {"email": email, "found": found, "errors": errors or {},
                                                        "erased": erased}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/privacy", response_class=HTMLResponse, name="subject_access")
def subject_access_page(request: Request, admin: AdminUser) -> HTMLResponse:
    return _subject_page(request)


@router.post("/admin/privacy/search", response_class=HTMLResponse, name="subject_access_search")
def subject_access_search(request: Request, session: SessionDep, admin: AdminUser, email: OptText = "") -> Response:
    try:
        found = subject.search(session=session, admin=admin, email=email, ip=client_ip(request))
    except InvalidInput as exc:
        return _subject_page(request, email=email, errors={"email": exc.message}, status_code=422)
    session.commit()
    return _subject_page(request, email=found.email, found=found)


@router.post("/admin/privacy/export", name="subject_access_export")
def subject_access_export(request: Request, session: SessionDep, admin: AdminUser, email: OptText = "") -> Response:
    try:
        data = subject.export(session=session, admin=admin, email=email, ip=client_ip(request))
    except InvalidInput as exc:
        return _subject_page(request, email=email, errors={"email": exc.message}, status_code=422)
    session.commit()
    return _json_download(data, "subject-access.json")


@router.post("/admin/privacy/erase", response_class=HTMLResponse, name="subject_access_erase")
def subject_access_erase(request: Request, session: SessionDep, settings: SettingsDep, admin: AdminUser,
                         email: OptText = "",
                         confirm: OptText = "") -> Response:
    if confirm != "yes":
        try:
            found = subject.search(session=session, admin=admin, email=email, ip=client_ip(request))
        except InvalidInput as exc:
            return _subject_page(request, email=email, errors={"email": exc.message}, status_code=422)
        session.commit()
        return _subject_page(request, email=found.email, found=found, status_code=422,
                             errors={"confirm": "Tick the box to confirm the erasure."})
    try:
        counts, _letters = subject.erase(session=session, settings=settings, admin=admin, email=email,
                                         ip=client_ip(request))
    except InvalidInput as exc:
        return _subject_page(request, email=email, errors={"email": exc.message}, status_code=422)
    session.commit()
    return _subject_page(request, erased=counts)


# The privacy notice ----------------------------------------------------------------------------------------

@router.get("/privacy", response_class=HTMLResponse, name="privacy_notice")
def privacy_notice(request: Request, settings: SettingsDep) -> HTMLResponse:
    return render(request, "privacy/notice.html", {"s": settings})
