"""Signing up and confirming the email address: each use case checks, changes, writes its audit line and queues its
mail; the route parses the form, commits and renders."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts import service
from backend.accounts.models import User
from backend.accounts.passwords import hasher
from backend.audit import service as audit
from backend.config import Settings
from backend.db import utcnow
from backend.errors import TokenInvalid


def sign_up(*, session: Session, settings: Settings, name: str, email: str, password: str, organisation_name: str,
            ip: str | None) -> User | None:
    """Creates the account and its organisation and sends the verification link; returns None when the
    address already has an account (its owner is told by email, and the visitor sees the same page)."""
    typed = email
    email = service.normalise_email(email)
    existing = service.get_by_email(session=session, email=email)
    if existing is not None:
        hasher().hash(password)  # the same work as a real sign-up, so timing does not tell either
        service.send_account_exists(session=session, settings=settings, user=existing)
        audit.record(session=session, action="signup_existing_email", actor=f"anonymous {typed.strip()[:200]}",
                     ip=ip)
        return None
    user = service.create_user(session=session, email=email, name=name, password=password)
    organisation = service.create_organisation(session=session, name=organisation_name)
    service.add_membership(session=session, user=user, organisation=organisation, role="admin")
    service.send_verification(session=session, settings=settings, user=user)
    audit.record(session=session, action="signup", actor=audit.actor_of(user), actor_user_id=user.id, ip=ip)
    return user


def verify_email(*, session: Session, token: str, ip: str | None) -> User:
    """Spends a verification token and marks the address as confirmed."""
    row = service.use_token(session=session, purpose=service.VERIFY, token=token)
    user = session.get(User, row.user_id) if row.user_id is not None else None
    if user is None or user.email != row.email:
        raise TokenInvalid("This link is not valid any more. Log in and ask for a new one.")
    if user.verified_at is None:
        user.verified_at = utcnow()
        session.add(user)
    audit.record(session=session, action="email_verified", actor=audit.actor_of(user), actor_user_id=user.id, ip=ip)
    return user


def needs_verification(user: User) -> bool:
    """Whether the account's address is still to be confirmed (a new link may be sent)."""
    return user.verified_at is None


def resend_verification(*, session: Session, settings: Settings, user: User, ip: str | None) -> None:
    """Emails a new confirmation link (the caller has checked `needs_verification` and the rate limit)."""
    service.send_verification(session=session, settings=settings, user=user)
    audit.record(session=session, action="verification_resent", actor=audit.actor_of(user), actor_user_id=user.id,
                 ip=ip)
