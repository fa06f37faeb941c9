"""An account holder's own data: exported from their profile, and the account closed.

A lead organisation must keep an admin: its only admin is asked to make a colleague admin before closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from backend.accounts import service as accounts
from backend.accounts.enums import MembershipRole
from backend.accounts.models import EmailToken, Membership, Organisation, User, UserSession
from backend.audit import service as audit
from backend.audit.models import AuditEvent
from backend.campaigns.models import Campaign, CoalitionInvite
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.privacy.models import Erasure, ErasureKind
from backend.privacy.service import (
    AUDIT_FIELDS,
    OUTBOX_FIELDS,
    _audit_events,
    _record,
    emails_to,
    scrub_outbox,
)

# Every column of an account's tables, with what it means (tests/privacy/test_accounts.py fails when a column is
# added to the model and not here). The password's hash is named but never exported.
USER_FIELDS: dict[str, str] = {
    "id": "Reference of the account",
    "created_at": "When the account was made",
    "updated_at": "When it last changed",
    "email": "Email address",
    "name": "Name",
    "password_hash": "A one-way hash of the password (withheld: it would help someone guess the password)",
    "verified_at": "When the email address was confirmed",
    "is_admin": "Whether the account is a site admin",
    "last_login_at": "Last log-in",
}
WITHHELD = {"password_hash"}
MEMBERSHIP_FIELDS: dict[str, str] = {
    "id": "Reference of the membership", "created_at": "When it began", "updated_at": "When it last changed",
    "user_id": "Reference of the account", "organisation_id": "Reference of the organisation",
    "role": "Role in the organisation",
}
SESSION_FIELDS: dict[str, str] = {
    "id": "Reference of the log-in", "created_at": "When it began", "updated_at": "When it last changed",
    "token_hash": "Digest of the session cookie (the cookie itself is not kept)", "user_id": "Reference of the account",
    "last_seen_at": "Last seen", "expires_at": "When it expires", "ended_at": "When it ended",
    "ip": "IP address at log-in", "user_agent": "Browser at log-in",
}
EMAIL_TOKEN_FIELDS: dict[str, str] = {
    "id": "Reference of the link", "created_at": "When it was sent", "updated_at": "When it last changed",
    "purpose": "What the link was for", "token_hash": "Digest of the link (the link itself is not kept)",
    "email": "Address it was sent to", "user_id": "Reference of the account",
    "subject_id": "Reference of what the link was about", "expires_at": "When it expires",
    "used_at": "When it was used",
}


def _account_events(session: Session, user: User) -> dict[int, set[str]]:
    """Audit values about this account: what it did (who and from where) and where its email appears."""
    found = audit.events_mentioning(session=session, needles=[user.email],
                                    subjects=[("user", user.id)] if user.id is not None else [])
    for event_id in session.exec(select(AuditEvent.id).where(AuditEvent.actor_user_id == user.id)
                                 .where(col(AuditEvent.action) != audit.ERASURE_ACTION)):
        if event_id is not None:
            found.setdefault(event_id, set()).update({"actor", "ip"})
    return found


def account_export(*, session: Session, user: User) -> dict[str, Any]:
    """The JSON download from the profile: every field held for the account, and the audit lines about it."""
    memberships = list(session.exec(select(Membership).where(Membership.user_id == user.id)))
    organisations = {o.id: o.name for o in session.exec(select(Organisation).where(
        col(Organisation.id).in_([m.organisation_id for m in memberships])))} if memberships else {}
    account = _record(user, USER_FIELDS)
    for name in WITHHELD:
        account[name] = "(withheld)" if account[name] else None
    return {
        "account": account,
        "memberships": [{**_record(m, MEMBERSHIP_FIELDS), "organisation": organisations.get(m.organisation_id)}
                        for m in memberships],
        "sessions": [_record(s, SESSION_FIELDS) for s in session.exec(
            select(UserSession).where(UserSession.user_id == user.id).order_by(col(UserSession.id)))],
        "email_links": [_record(t, EMAIL_TOKEN_FIELDS) for t in session.exec(
            select(EmailToken).where((EmailToken.user_id == user.id) | (EmailToken.email == user.email))
            .order_by(col(EmailToken.id)))],
        "emails": emails_to(session=session, address=user.email),
        "audit_events": _audit_events(session, _account_events(session, user)),
        "field_meanings": {"account": USER_FIELDS, "memberships": MEMBERSHIP_FIELDS, "sessions": SESSION_FIELDS,
                           "email_links": EMAIL_TOKEN_FIELDS, "emails": OUTBOX_FIELDS,
                           "audit_events": list(AUDIT_FIELDS)},
    }


@dataclass
class Handover:
    """A lead organisation whose only admin is this account, and who could take over."""

    organisation: Organisation
    candidates: list[User]


def handovers_needed(*, session: Session, user: User) -> list[Handover]:
    """The lead organisations that would be left without an admin if this account closed."""
    needed = []
    for organisation in accounts.organisations_of(session=session, user_id=user.id):  # type: ignore[arg-type]
        members = accounts.members_of(session=session, organisation_id=organisation.id)  # type: ignore[arg-type]
        admins = [m for m, role in members if role == "admin"]
        if [a.id for a in admins] != [user.id]:
            continue
        leads = session.exec(select(Campaign.id).where(Campaign.lead_organisation_id == organisation.id)).first()
        if leads is None:
            continue
        needed.append(Handover(organisation=organisation,
                               candidates=[m for m, role in members if m.id != user.id]))
    return needed


def hand_over(*, session: Session, user: User, organisation_id: int, to_user_id: int, ip: str | None) -> User:
    """Makes a colleague an admin of an organisation this account administers."""
    if accounts.role_in(session=session, user_id=user.id, organisation_id=organisation_id) != "admin":
        raise Forbidden("Only an admin of this organisation can hand it over.")
    membership = session.exec(select(Membership).where(Membership.user_id == to_user_id)
                              .where(Membership.organisation_id == organisation_id)).first()
    colleague = session.get(User, to_user_id)
    if membership is None or colleague is None:
        raise NotFound("That person is not a member of this organisation.")
    membership.role = MembershipRole.admin
    session.add(membership)
    audit.record(session=session, action="membership_role_changed", actor=f"user:{user.id} {user.email}",
                 actor_user_id=user.id, subject_type="organisation", subject_id=organisation_id, ip=ip,
                 details={"user_id": to_user_id, "role": "admin", "why": "handover before closing an account"})
    return colleague


def erase_account(*, session: Session, user: User, actor: str, actor_user_id: int | None, reason: str,
                  kind: ErasureKind = ErasureKind.account) -> None:
    """Deletes the account and the values that identify it (its email in the audit log and the outbox; its
    memberships, log-ins and emailed links go with it). What it wrote for a campaign stays, unsigned."""
    user_id, email = user.id, user.email
    audit.erase_values(session=session, fields_by_event=_account_events(session, user), actor=actor,
                       actor_user_id=actor_user_id, reason=reason)
    scrub_outbox(session=session, needles=[email], addresses=[email])
    for invite in session.exec(select(CoalitionInvite).where(CoalitionInvite.email == email)):
        session.delete(invite)
    for token in session.exec(select(EmailToken).where(EmailToken.email == email)):
        session.delete(token)
    session.delete(user)
    session.add(Erasure(kind=kind))
    session.flush()
    audit.record(session=session, action="account_closed", actor=actor, actor_user_id=actor_user_id,
                 subject_type="user", subject_id=user_id, details={"reason": reason})


def close_account(*, session: Session, user: User, password: str) -> None:
    """The account holder closes their own account (with their password, and after any handover)."""
    if accounts.authenticate(session=session, email=user.email, password=password) is None:
        raise InvalidInput("That is not your current password.", field="password")
    if handovers_needed(session=session, user=user):
        raise Conflict("Make a colleague an admin of your lead organisation before closing your account.")
    erase_account(session=session, user=user, actor=f"user:{user.id} (closed)", actor_user_id=None,
                  reason="account closed by its holder")
