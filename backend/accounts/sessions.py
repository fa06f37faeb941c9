"""Logging in and out, and changing the password: each use case checks, changes, writes its audit line and queues
its mail; the route parses the form, commits and sets the cookie."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from backend.accounts import service
from backend.accounts.models import User
from backend.accounts.passwords import hasher
from backend.audit import service as audit
from backend.config import Settings
from backend.errors import InvalidInput


@dataclass(frozen=True)
class LoggedIn:
    """A successful log-in: the account and the raw cookie value of its new session."""

    user: User
    token: str


def log_in(
    *, session: Session, settings: Settings, email: str, password: str, ip: str | None, user_agent: str | None,
    old_token: str | None,
) -> LoggedIn | None:
    """Checks the password (hashing for unknown accounts too, so timing does not tell them apart) and starts a new
    session, ending the browser's old one (a new id at every log-in); None, with a `login_failed` line, when the
    address or password is not right."""
    user = service.authenticate(session=session, email=email, password=password)
    if user is None:
        audit.record(session=session, action="login_failed", actor=f"anonymous {email[:200]}", ip=ip)
        return None
    if old_token:
        service.end_session(session=session, token=old_token)
    token = service.start_session(session=session, settings=settings, user=user, ip=ip, user_agent=user_agent)
    audit.record(session=session, action="login", actor=audit.actor_of(user), actor_user_id=user.id, ip=ip)
    return LoggedIn(user=user, token=token)


def log_out(*, session: Session, token: str, ip: str | None) -> None:
    """Ends the session on the server, with a `logout` line when it was live."""
    user_id = service.end_session(session=session, token=token)
    if user_id is not None:
        audit.record(session=session, action="logout", actor=f"user:{user_id}", actor_user_id=user_id, ip=ip)


def change_password(
    *, session: Session, settings: Settings, user: User, current_password: str, new_password: str, ip: str | None,
    user_agent: str | None,
) -> str:
    """Changes the password after checking the current one, ends every session of the user, tells them by email and
    returns the raw cookie value of a fresh session for this browser. Raises InvalidInput (field `current_password`
    after a `password_change_failed` line) before any change."""
    if not user.password_hash or not hasher().verify(current_password or "", user.password_hash):
        audit.record(session=session, action="password_change_failed", actor=audit.actor_of(user),
                     actor_user_id=user.id, ip=ip)
        raise InvalidInput("Your current password is not right.", field="current_password")
    service.check_password_rules(new_password, field="new_password")
    if current_password == new_password:
        raise InvalidInput("Choose a password different from the current one.", field="new_password")
    service.set_password(session=session, user=user, password=new_password)  # ends every session of the user
    service.notify_password_changed(session=session, settings=settings, user=user)
    # This browser carries on with a fresh session.
    token = service.start_session(session=session, settings=settings, user=user, ip=ip, user_agent=user_agent)
    audit.record(session=session, action="password_changed", actor=audit.actor_of(user), actor_user_id=user.id,
                 ip=ip)
    return token
