"""A forgotten password: asking for a reset link and setting a new password from it. Each use case changes,
writes its audit line and queues its mail; the route parses the form, commits and renders."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from backend.accounts import service
from backend.accounts.models import EmailToken, User
from backend.audit import service as audit
from backend.config import Settings
from backend.db import utcnow
from backend.errors import TokenInvalid
from backend.mail import service as mail


def request_reset(*, session: Session, settings: Settings, email: str, ip: str | None) -> User | None:
    """Emails a reset link when the address has an account; the visitor sees the same answer either way."""
    normalised = service.normalise_email(email)
    user = service.get_by_email(session=session, email=normalised)
    if user is not None:
        minutes = settings.reset_token_minutes
        token = service.issue_token(session=session, purpose=service.RESET, email=user.email, user_id=user.id,
                                    lifetime=timedelta(minutes=minutes))
        mail.enqueue(session=session, settings=settings, to=user.email, template="reset_password",
                     context={"name": user.name, "link": service.email_link(settings, "reset_password", token=token),
                              "minutes": minutes})
    audit.record(session=session, action="password_reset_requested",
                 actor=audit.actor_of(user) if user else f"anonymous {normalised[:200]}",
                 actor_user_id=user.id if user else None, ip=ip, details={"account_found": user is not None})
    return user


def reset_password(*, session: Session, settings: Settings, token: str, password: str, ip: str | None) -> User:
    """Sets a new password from a reset link: checks the password first so a weak one does not spend the link."""
    service.check_password_rules(password)
    row = service.use_token(session=session, purpose=service.RESET, token=token)
    user = session.get(User, row.user_id) if row.user_id is not None else None
    if user is None or user.email != row.email:
        raise TokenInvalid("This link is not valid any more. Ask for a new one.")
    service.set_password(session=session, user=user, password=password)
    # Every other reset link of the account stops working: one of them may be in someone else's hands.
    session.execute(update(EmailToken).where(col(EmailToken.user_id) == user.id)
                    .where(col(EmailToken.purpose) == service.RESET).where(col(EmailToken.used_at).is_(None))
                    .values(used_at=utcnow()))
    if user.verified_at is None:  # the link proves the address
        user.verified_at = utcnow()
    service.notify_password_changed(session=session, settings=settings, user=user)
    audit.record(session=session, action="password_reset", actor=audit.actor_of(user), actor_user_id=user.id, ip=ip)
    return user
