"""Accounts: passwords, server-side sessions, emailed-link tokens, organisations and memberships."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend import text
from backend.accounts.enums import MembershipRole
from backend.accounts.models import MEMBERSHIP_ROLES, EmailToken, Membership, Organisation, User, UserSession
from backend.accounts.passwords import dummy_hash, hasher
from backend.config import Settings
from backend.db import as_utc, session_for_write, utcnow
from backend.errors import InvalidInput, TokenInvalid
from backend.mail import addresses
from backend.mail import service as mail
from backend.security import hash_token, new_token
from backend.templating import for_settings

MIN_PASSWORD = 10
MAX_PASSWORD = 256


def normalise_email(raw: str) -> str:
    """Trims and case-folds an address; raises InvalidInput when it is not one SMTP can carry (see
    backend.mail.addresses: international domains are fine, a non-ASCII part before the @ is refused)."""
    return addresses.normalise(raw, field="email")


# Passwords long enough for the length rule that are still among the first tried by attackers.
COMMON_PASSWORDS = frozenset({
    "1234567890", "12345678910", "123456789a", "0123456789", "0987654321", "1q2w3e4r5t", "1qaz2wsx3edc",
    "qwertyuiop", "qwerty1234", "qwerty12345", "asdfghjkl1", "password12", "password123", "password1234",
    "passw0rd12", "iloveyou12", "letmein123", "welcome123", "changeme123", "abcdefghij", "abc1234567",
    "football12", "baseball12", "sunshine12", "princess12", "trustno1234", "administrator", "undersigned",
    "charity123", "charity2024", "charity2025", "charity2026",
})


def check_password_rules(password: str, *, field: str = "password") -> None:
    """Length limits, and not one of the passwords attackers try first."""
    if not password:
        raise InvalidInput("Enter a password.", field=field)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Use at least {MIN_PASSWORD} characters for the password.", field=field)
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"Use at most {MAX_PASSWORD} characters for the password.", field=field)
    if password.casefold() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise InvalidInput("That password is too easy to guess. Try three or four random words.", field=field)


def clean_name(raw: str, *, field: str = "name", what: str = "your name") -> str:
    """Collapses spaces; refuses an empty or over-long name, or one with hidden characters."""
    name = text.clean_name(raw, label=what[0].upper() + what[1:], field=field)
    if not name:
        raise InvalidInput(f"Enter {what}.", field=field)
    if len(name) > 200:
        raise InvalidInput(f"{what[0].upper()}{what[1:]} is too long (200 characters at most).", field=field)
    return name


def slugify(text: str, *, max_length: int = 80) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug[:max_length].strip("-") or "item"


# Users ---------------------------------------------------------------------------------------------

def get(*, session: Session, user_id: int) -> User | None:
    """Gets a user by id."""
    return session.get(User, user_id)


def get_by_email(*, session: Session, email: str) -> User | None:
    """Gets a user by (case-folded) email."""
    return session.exec(select(User).where(User.email == email.strip().casefold())).first()


def create_user(
    *, session: Session, email: str, name: str, password: str | None, verified: bool = False,
    is_admin: bool = False,
) -> User:
    """Creates an account; the caller checks the address is free."""
    if password is not None:
        check_password_rules(password)
    name = clean_name(name)
    user = User(
        email=normalise_email(email),
        name=name,
        password_hash=hasher().hash(password) if password is not None else None,
        verified_at=utcnow() if verified else None,
        is_admin=is_admin,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The user whose password matches, or None (in constant-ish time for unknown accounts)."""
    user = get_by_email(session=session, email=email)
    if user is None or user.password_hash is None:
        hasher().verify(password or "x", dummy_hash())
        return None
    valid, updated = hasher().verify_and_update(password, user.password_hash)
    if not valid:
        return None
    if updated:
        user.password_hash = updated
        session.add(user)
    return user


def set_password(*, session: Session, user: User, password: str) -> None:
    """Sets a new password and ends every session of the user."""
    check_password_rules(password)
    user.password_hash = hasher().hash(password)
    session.add(user)
    end_all_sessions(session=session, user_id=user.id)


# Sessions ------------------------------------------------------------------------------------------

def start_session(*, session: Session, settings: Settings, user: User, ip: str | None,
                  user_agent: str | None) -> str:
    """Starts a log-in and returns the raw cookie value (only its hash is stored)."""
    token = new_token()
    now = utcnow()
    session.add(
        UserSession(
            token_hash=hash_token(token),
            user_id=user.id,  # type: ignore[arg-type]
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            ip=ip,
            user_agent=(user_agent or "")[:300],
        )
    )
    user.last_login_at = now
    session.add(user)
    return token


def lookup_session(*, session: Session, settings: Settings, token: str) -> tuple[UserSession, User] | None:
    """The live session for a cookie value, touching its idle timer; None when ended or expired."""
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    expires_at = as_utc(row.expires_at)
    last_seen_at = as_utc(row.last_seen_at)
    assert expires_at is not None and last_seen_at is not None
    if now >= expires_at or now - last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        return None
    user = session.get(User, row.user_id)
    if user is None:
        return None
    if now - last_seen_at > timedelta(seconds=60):
        touch_session(session=session, session_id=row.id)
    return row, user


def touch_session(*, session: Session, session_id: int | None) -> None:
    """Moves the idle timer on, in a short write transaction of its own (a GET's session only reads)."""
    with session_for_write(session.get_bind()) as writer:  # type: ignore[arg-type]
        writer.execute(update(UserSession).where(col(UserSession.id) == session_id).values(last_seen_at=utcnow()))
        writer.commit()


def end_session(*, session: Session, token: str) -> int | None:
    """Ends the session on the server; returns its user id if there was one."""
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = utcnow()
    session.add(row)
    return row.user_id


def end_all_sessions(*, session: Session, user_id: int | None) -> None:
    session.execute(
        update(UserSession)
        .where(col(UserSession.user_id) == user_id)
        .where(col(UserSession.ended_at).is_(None))
        .values(ended_at=utcnow())
    )


# Emailed-link tokens -------------------------------------------------------------------------------

def issue_token(
    *, session: Session, purpose: str, email: str, lifetime: timedelta, user_id: int | None = None,
    subject_id: int | None = None,
) -> str:
    """Creates a single-use token for one purpose and returns the raw value for the link."""
    token = new_token()
    session.add(
        EmailToken(
            purpose=purpose,
            token_hash=hash_token(token),
            email=email,
            user_id=user_id,
            subject_id=subject_id,
            expires_at=utcnow() + lifetime,
        )
    )
    return token


def peek_token(*, session: Session, purpose: str, token: str) -> EmailToken:
    """The token's row if it is valid for this purpose, without using it (for the GET page)."""
    row = session.exec(select(EmailToken).where(EmailToken.token_hash == hash_token(token or ""))).first()
    if row is None or row.purpose != purpose:
        raise TokenInvalid("This link is not valid. Check you copied the whole link from the email.")
    if row.used_at is not None:
        raise TokenInvalid("This link has already been used. Each link works once.")
    expires_at = as_utc(row.expires_at)
    assert expires_at is not None
    if utcnow() >= expires_at:
        raise TokenInvalid("This link has expired. Ask for a new one.")
    return row


def use_token(*, session: Session, purpose: str, token: str) -> EmailToken:
    """Checks and spends a token in the caller's transaction (a second use fails)."""
    row = peek_token(session=session, purpose=purpose, token=token)
    result = session.execute(
        update(EmailToken)
        .where(col(EmailToken.id) == row.id)
        .where(col(EmailToken.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid("This link has already been used. Each link works once.")
    return row


# Organisations and memberships ---------------------------------------------------------------------

def unique_slug(*, session: Session, model: type, base: str) -> str:
    """A slug for `model` not yet taken: base, base-2, base-3..."""
    candidate = base
    n = 2
    while session.exec(select(model).where(model.slug == candidate)).first() is not None:  # type: ignore[attr-defined]
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def create_organisation(
    *, session: Session, name: str, website: str | None = None, charity_number: str | None = None,
    description: str | None = None,
) -> Organisation:
    name = clean_name(name, what="the organisation's name")
    org = Organisation(
        name=name,
        skeleton=text.skeleton(name),
        slug=unique_slug(session=session, model=Organisation, base=slugify(name)),
        website=text.clean_website(website),
        charity_number=clean_charity_number(charity_number),
        description=clean_description(description),
    )
    session.add(org)
    session.flush()
    return org


def add_membership(*, session: Session, user: User, organisation: Organisation, role: str = "member") -> Membership:
    existing = session.exec(
        select(Membership)
        .where(Membership.user_id == user.id)
        .where(Membership.organisation_id == organisation.id)
    ).first()
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, organisation_id=organisation.id, role=role)  # type: ignore[arg-type]
    session.add(membership)
    session.flush()
    return membership


def organisations_of(*, session: Session, user_id: int) -> list[Organisation]:
    stmt = (
        select(Organisation)
        .join(Membership, col(Membership.organisation_id) == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Organisation.name)
    )
    return list(session.exec(stmt))


def clean_charity_number(raw: str | None) -> str | None:
    """A registered charity or company number: letters, digits, spaces and hyphens."""
    value = " ".join((raw or "").split())
    if not value:
        return None
    if len(value) > 40 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 \-/]*", value):
        raise InvalidInput("Enter the charity number as it is registered, like 1234567 or SC012345.",
                           field="charity_number")
    return value


def clean_description(raw: str | None) -> str | None:
    value = (raw or "").strip().replace("\r\n", "\n")
    if len(value) > 5000:
        raise InvalidInput("The description is too long (5000 characters at most).", field="description")
    return value or None


def get_organisation_by_slug(*, session: Session, slug: str) -> Organisation | None:
    """Gets an organisation by slug."""
    return session.exec(select(Organisation).where(Organisation.slug == slug)).first()


def get_all_organisations(*, session: Session, limit: int = 500) -> list[Organisation]:
    """Every organisation, by name."""
    return list(session.exec(select(Organisation).order_by(col(Organisation.name)).limit(limit)))


def get_all_users(*, session: Session, limit: int = 500) -> list[User]:
    """Every account, newest first."""
    return list(session.exec(select(User).order_by(col(User.id).desc()).limit(limit)))


def role_in(*, session: Session, user_id: int | None, organisation_id: int | None) -> str | None:
    """The user's membership role in the organisation, or None."""
    return session.exec(
        select(Membership.role)
        .where(Membership.user_id == user_id)
        .where(Membership.organisation_id == organisation_id)
    ).first()


def members_of(*, session: Session, organisation_id: int) -> list[tuple[User, str]]:
    """The organisation's accounts with their roles, by name."""
    stmt = (
        select(User, Membership.role)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.organisation_id == organisation_id)
        .order_by(col(User.name))
    )
    return [(user, role) for user, role in session.exec(stmt)]


def update_organisation(
    *, session: Session, organisation: Organisation, name: str, website: str | None, charity_number: str | None,
    description: str | None,
) -> Organisation:
    """Updates the organisation's details (the slug stays, so links keep working)."""
    organisation.name = clean_name(name, what="the organisation's name")
    organisation.skeleton = text.skeleton(organisation.name)
    organisation.website = text.clean_website(website)
    organisation.charity_number = clean_charity_number(charity_number)
    organisation.description = clean_description(description)
    session.add(organisation)
    return organisation


def add_member_by_email(*, session: Session, organisation: Organisation, email: str, role: str) -> User:
    """Adds an existing account to an organisation (site admins only; the address must have an account)."""
    if role not in MEMBERSHIP_ROLES:
        raise InvalidInput("Choose admin or member.", field="role")
    user = get_by_email(session=session, email=normalise_email(email))
    if user is None:
        raise InvalidInput("No account uses that email address. Ask them to create one first.", field="email")
    membership = add_membership(session=session, user=user, organisation=organisation, role=role)
    if membership.role != role:
        membership.role = MembershipRole(role)
        session.add(membership)
    return user


# Emailed links, profile -----------------------------------------------------------------------------

VERIFY = "verify"
RESET = "reset"


def send_verification(*, session: Session, settings: Settings, user: User) -> None:
    """Emails a single-use link that confirms the user's address."""
    hours = settings.verify_token_hours
    token = issue_token(session=session, purpose=VERIFY, email=user.email, user_id=user.id,
                        lifetime=timedelta(hours=hours))
    mail.enqueue(session=session, settings=settings, to=user.email, template="verify_email",
                 context={"name": user.name, "link": email_link(settings, "verify", token=token), "hours": hours})


def update_profile(*, session: Session, user: User, name: str) -> User:
    """Updates the user's name."""
    user.name = clean_name(name)
    session.add(user)
    return user


def send_account_exists(*, session: Session, settings: Settings, user: User) -> None:
    """Tells an account's owner that someone tried to sign up with their address."""
    mail.enqueue(session=session, settings=settings, to=user.email, template="account_exists",
                 context={"name": user.name, "login_link": email_link(settings, "login"),
                          "reset_link": email_link(settings, "reset")})


def notify_password_changed(*, session: Session, settings: Settings, user: User) -> None:
    mail.enqueue(session=session, settings=settings, to=user.email, template="password_changed",
                 context={"name": user.name, "reset_link": email_link(settings, "reset")})


def email_link(settings: Settings, route_name: str, **path_params: str) -> str:
    """An absolute link to one of the site's pages, for an email."""
    return for_settings(settings).absolute_url_for(route_name, **path_params)
