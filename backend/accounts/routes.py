"""Account pages: sign up, verify, log in and out, reset and change the password, profile, organisations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend import ratelimit
from backend.accounts import profile, reset, service, sessions, signup
from backend.accounts.deps import CurrentUser
from backend.accounts.forms import (
    ChangePasswordForm,
    EmailForm,
    LoginForm,
    NewPasswordForm,
    OrganisationForm,
    ProfileForm,
    SignupForm,
    errors_of,
)
from backend.accounts.models import User
from backend.audit import service as audit
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.errors import InvalidInput
from backend.mail import service as mail
from backend.security import client_ip
from backend.web import flash, path_for, render

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/campaigns"



def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# Log in and out ------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse, name="login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "accounts/login.html", {"next": safe_next(next), "values": {}, "errors": {}})


@router.post("/login", name="login_submit")
def login_submit(
    request: Request, session: SessionDep, settings: SettingsDep, form: Annotated[LoginForm, Form()],
) -> Response:
    email, password, next = form.email, form.password, form.next
    ip = client_ip(request)
    # Failed log-ins slow down each (account, address) pair: guesses from many addresses do not lock the owner out
    # (each address also has its own limit across accounts, "login-ip").
    account_key = email.strip().casefold()[:254] + "|" + ip
    ratelimit.enforce(request=request, session=session, scope="login-ip", key=ip, limit=settings.rate_limit_login)
    ratelimit.enforce(request=request, session=session, scope="login-account", key=account_key, count=False,
                      limit=settings.rate_limit_login_account, actor=f"anonymous {account_key[:200]}")
    logged_in = sessions.log_in(session=session, settings=settings, email=email, password=password, ip=ip,
                                user_agent=request.headers.get("user-agent"),
                                old_token=request.cookies.get(settings.session_cookie_name))
    if logged_in is None:
        ratelimit.hit(scope="login-account", key=account_key, limit=settings.rate_limit_login_account)
        session.commit()
        return render(
            request, "accounts/login.html",
            {"next": safe_next(next), "values": {"email": email[:254]},
             "errors": {"email": "The email address or password is not right."}},
            status_code=422,
        )
    request.state.new_session = logged_in.token
    session.commit()
    user = logged_in.user
    flash(request, f"Welcome, {user.name}. You are logged in.", "success")
    return _redirect(safe_next(next))


@router.post("/logout", name="logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    token = request.cookies.get(settings.session_cookie_name)
    if token:
        sessions.log_out(session=session, token=token, ip=client_ip(request))
        session.commit()
    request.state.end_session = True
    flash(request, "You are logged out.")
    return _redirect(path_for(request, "home"))


# Sign up and verify --------------------------------------------------------------------------------

@router.get("/signup", response_class=HTMLResponse, name="signup")
def signup_page(request: Request) -> HTMLResponse:
    return render(request, "accounts/signup.html", {"values": {}, "errors": {}})


@router.post("/signup", name="signup_submit")
def signup_submit(
    request: Request, session: SessionDep, settings: SettingsDep, form: Annotated[SignupForm, Form()],
) -> Response:
    name, email, password, organisation = form.name, form.email, form.password, form.organisation
    ratelimit.enforce(request=request, session=session, scope="signup-ip", key=client_ip(request),
                      limit=settings.rate_limit_signup)
    values = {"name": name[:300], "email": email[:300], "organisation": organisation[:300]}
    errors = errors_of(
        ("name", lambda: service.clean_name(name)),
        ("email", lambda: service.normalise_email(email)),
        ("password", lambda: service.check_password_rules(password)),
        ("organisation", lambda: service.clean_name(organisation, field="organisation",
                                                    what="your organisation's name")),
    )
    if errors:
        return render(request, "accounts/signup.html", {"values": values, "errors": errors}, status_code=422)
    signup.sign_up(session=session, settings=settings, name=name, email=email, password=password,
                   organisation_name=organisation, ip=client_ip(request))
    session.commit()
    return _redirect(path_for(request, "signup_sent"))


@router.get("/signup/check-email", response_class=HTMLResponse, name="signup_sent")
def signup_sent(request: Request) -> HTMLResponse:
    return render(request, "accounts/check_email.html", {"purpose": "signup"})


@router.get("/verify/{token}", response_class=HTMLResponse, name="verify")
def verify_page(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    row = service.peek_token(session=session, purpose=service.VERIFY, token=token)
    return render(request, "accounts/verify.html", {"token": token, "email": row.email})


@router.post("/verify/{token}", name="verify_submit")
def verify_submit(request: Request, session: SessionDep, token: str) -> Response:
    user = signup.verify_email(session=session, token=token, ip=client_ip(request))
    session.commit()
    flash(request, "Thank you: your email address is confirmed.", "success")
    current: User | None = getattr(request.state, "user", None)
    return _redirect(path_for(request, "account" if current is not None and current.id == user.id else "login"))


@router.post("/account/verify", name="verify_resend")
def verify_resend(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    if not signup.needs_verification(user):
        flash(request, "Your email address is already confirmed.")
        return _redirect(path_for(request, "account"))
    ratelimit.enforce(request=request, session=session, scope="verify-resend", key=str(user.id),
                      limit=settings.rate_limit_reset, actor=audit.actor_of(user))
    signup.resend_verification(session=session, settings=settings, user=user, ip=client_ip(request))
    session.commit()
    flash(request, f"We have sent a new link to {user.email}.", "success")
    return _redirect(path_for(request, "account"))


# Forgotten password --------------------------------------------------------------------------------

@router.get("/reset", response_class=HTMLResponse, name="reset")
def reset_request_page(request: Request) -> HTMLResponse:
    return render(request, "accounts/reset_request.html", {"values": {}, "errors": {}})


@router.post("/reset", name="reset_submit")
def reset_request_submit(request: Request, session: SessionDep, settings: SettingsDep,
                         form: Annotated[EmailForm, Form()]) -> Response:
    email = form.email
    ratelimit.enforce(request=request, session=session, scope="reset-ip", key=client_ip(request),
                      limit=settings.rate_limit_reset)
    try:
        normalised = service.normalise_email(email)
    except InvalidInput as exc:
        return render(request, "accounts/reset_request.html",
                      {"values": {"email": email[:300]}, "errors": {"email": exc.message}}, status_code=422)
    # Per address too, so nobody can flood one inbox with reset mail.
    ratelimit.enforce(request=request, session=session, scope="reset-account", key=normalised,
                      limit=settings.rate_limit_reset)
    reset.request_reset(session=session, settings=settings, email=normalised, ip=client_ip(request))
    session.commit()
    return _redirect(path_for(request, "reset_sent"))


@router.get("/reset/check-email", response_class=HTMLResponse, name="reset_sent")
def reset_sent(request: Request) -> HTMLResponse:
    return render(request, "accounts/check_email.html", {"purpose": "reset"})


@router.get("/reset/{token}", response_class=HTMLResponse, name="reset_password")
def reset_password_page(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    row = service.peek_token(session=session, purpose=service.RESET, token=token)
    return render(request, "accounts/reset_password.html", {"token": token, "email": row.email, "errors": {}})


@router.post("/reset/{token}", name="reset_password_submit")
def reset_password_submit(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                          form: Annotated[NewPasswordForm, Form()]) -> Response:
    password = form.password
    row = service.peek_token(session=session, purpose=service.RESET, token=token)
    try:
        reset.reset_password(session=session, settings=settings, token=token, password=password,
                             ip=client_ip(request))
    except InvalidInput as exc:
        return render(request, "accounts/reset_password.html",
                      {"token": token, "email": row.email, "errors": {"password": exc.message}}, status_code=422)
    session.commit()
    request.state.end_session = True
    flash(request, "Your password has been changed and every device was logged out. Log in with the new one.",
          "success")
    return _redirect(path_for(request, "login"))


# Profile and password --------------------------------------------------------------------------------

def _account_context(session: SessionDep, user: User) -> dict[str, object]:
    organisations = service.organisations_of(session=session, user_id=user.id)  # type: ignore[arg-type]
    refused = mail.undeliverable(session=session, addresses=[user.email]).get(user.email)
    return {"user": user, "organisations": organisations, "mail_refused": refused}


@router.get("/account", response_class=HTMLResponse, name="account")
def account_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    return render(request, "accounts/account.html",
                  {**_account_context(session, user), "values": {"name": user.name}, "errors": {}})


@router.post("/account", name="account_submit")
def account_submit(request: Request, session: SessionDep, user: CurrentUser,
                   form: Annotated[ProfileForm, Form()]) -> Response:
    name = form.name
    try:
        profile.update_profile(session=session, user=user, name=name, ip=client_ip(request))
    except InvalidInput as exc:
        session.rollback()
        return render(request, "accounts/account.html",
                      {**_account_context(session, user), "values": {"name": name[:300]},
                       "errors": {"name": exc.message}}, status_code=422)
    session.commit()
    flash(request, "Your details are saved.", "success")
    return _redirect(path_for(request, "account"))


@router.get("/account/password", response_class=HTMLResponse, name="change_password")
def change_password_page(request: Request, user: CurrentUser) -> HTMLResponse:
    return render(request, "accounts/change_password.html", {"errors": {}})


@router.post("/account/password", name="change_password_submit")
def change_password_submit(
    request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
    form: Annotated[ChangePasswordForm, Form()],
) -> Response:
    current_password, new_password = form.current_password, form.new_password
    ratelimit.enforce(request=request, session=session, scope="login-account", key=user.email, count=False,
                      limit=settings.rate_limit_login_account, actor=audit.actor_of(user))
    try:
        request.state.new_session = sessions.change_password(
            session=session, settings=settings, user=user, current_password=current_password,
            new_password=new_password, ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    except InvalidInput as exc:
        if exc.field == "current_password":
            ratelimit.hit(scope="login-account", key=user.email, limit=settings.rate_limit_login_account)
            session.commit()
        else:
            session.rollback()
        return render(request, "accounts/change_password.html",
                      {"errors": {exc.field or "new_password": exc.message}}, status_code=422)
    session.commit()
    flash(request, "Your password has been changed. Other devices have been logged out.", "success")
    return _redirect(path_for(request, "account"))


# Organisations ---------------------------------------------------------------------------------------

def _organisation_page(
    request: Request, session: SessionDep, access: profile.OrganisationAccess, values: dict[str, str | None],
    errors: dict[str, str], status_code: int = 200,
) -> HTMLResponse:
    organisation = access.organisation
    return render(request, "accounts/organisation.html", {
        "organisation": organisation, "can_edit": access.can_edit, "role": access.role,
        "members": service.members_of(session=session, organisation_id=organisation.id),  # type: ignore[arg-type]
        "values": values, "errors": errors,
    }, status_code=status_code)


@router.get("/organisations/{slug}", response_class=HTMLResponse, name="organisation")
def organisation_page(request: Request, session: SessionDep, user: CurrentUser, slug: str) -> HTMLResponse:
    access = profile.organisation_for(session=session, user=user, slug=slug)
    organisation = access.organisation
    values = {"name": organisation.name, "website": organisation.website,
              "charity_number": organisation.charity_number, "description": organisation.description}
    return _organisation_page(request, session, access, values, {})


@router.post("/organisations/{slug}", name="organisation_submit")
def organisation_submit(
    request: Request, session: SessionDep, user: CurrentUser, slug: str, form: Annotated[OrganisationForm, Form()],
) -> Response:
    name, website, charity_number, description = form.name, form.website, form.charity_number, form.description
    access = profile.organisation_for(session=session, user=user, slug=slug)
    errors = profile.update_organisation(session=session, user=user, access=access, name=name, website=website,
                                         charity_number=charity_number, description=description,
                                         ip=client_ip(request))
    if errors:
        values: dict[str, str | None] = {"name": name, "website": website, "charity_number": charity_number,
                                         "description": description}
        return _organisation_page(request, session, access, values, errors, status_code=422)
    session.commit()
    flash(request, "The organisation's details are saved.", "success")
    return _redirect(path_for(request, "organisation", slug=access.organisation.slug))
