"""Mail an account can cause is bounded: how many organisations an account may invite to sign in 24 hours.

A new or unverified account, or one whose organisation is only a partner on the campaign, has the small budget
(INVITE_LIMIT_NEW_ACCOUNT); an established account of the campaign's lead organisation the larger one
(INVITE_LIMIT_ESTABLISHED). Reaching the limit is recorded, and site admins see it on /admin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.audit.models import AuditEvent
from backend.config import Settings
from backend.db import as_utc, utcnow
from backend.errors import InvalidInput
from backend.letters.models import Letter
from backend.signatures.models import Invite

LIMIT_ACTION = "invite_limit_reached"


class InviteLimitReached(InvalidInput):
    """More invites than the account's budget for the day; `record` notes it for the site admins."""

    def __init__(self, message: str, *, limit: int, used: int, wanted: int) -> None:
        super().__init__(message, field="invites")
        self.limit, self.used, self.wanted = limit, used, wanted


def established(*, settings: Settings, user: User, role: str) -> bool:
    """A verified account of the lead organisation, older than ACCOUNT_ESTABLISHED_DAYS."""
    created = as_utc(user.created_at)
    age_ok = created is not None and utcnow() - created >= timedelta(days=settings.account_established_days)
    return role == "lead" and user.verified_at is not None and age_ok


def budget(*, settings: Settings, user: User, role: str) -> int:
    return settings.invite_limit_established if established(settings=settings, user=user,
                                                            role=role) else settings.invite_limit_new_account


def used_today(*, session: Session, user: User) -> int:
    """Invites the account created in the last 24 hours (on any letter)."""
    since = utcnow() - timedelta(hours=24)
    stmt = select(func.count()).select_from(Invite).where(Invite.created_by_id == user.id) \
        .where(col(Invite.created_at) >= since)
    return int(session.exec(stmt).one())


def check(*, session: Session, settings: Settings, user: User, role: str, wanted: int) -> None:
    """InviteLimitReached when `wanted` more invites would take the account over its budget."""
    limit = budget(settings=settings, user=user, role=role)
    used = used_today(session=session, user=user)
    if used + wanted <= limit:
        return
    left = max(limit - used, 0)
    raise InviteLimitReached(
        f"Your account can invite {limit} organisations in 24 hours ({left} more now), and this would invite "
        f"{wanted}. Invite fewer now and the rest tomorrow"
        + (", or ask a site admin if you need more." if left or limit else "."),
        limit=limit, used=used, wanted=wanted)


def record(*, session: Session, user: User, letter: Letter, exc: InviteLimitReached, ip: str | None) -> None:
    """Notes, for the site admins, that an account reached its limit (in the caller's transaction)."""
    audit.record(session=session, action=LIMIT_ACTION, actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip,
                 details={"limit": exc.limit, "used": exc.used, "wanted": exc.wanted})


@dataclass
class LimitHit:
    user_id: int | None
    actor: str
    at: datetime
    limit: int
    wanted: int


def recent_hits(*, session: Session, limit: int = 50) -> list[LimitHit]:
    """The latest times an account reached its invite limit, newest first (for the admin page)."""
    rows = session.exec(select(AuditEvent).where(AuditEvent.action == LIMIT_ACTION)
                        .order_by(col(AuditEvent.id).desc()).limit(limit)).all()
    hits = []
    for row in rows:
        details = json.loads(row.details or "{}")
        hits.append(LimitHit(user_id=row.actor_user_id, actor=row.actor.split(" ", 1)[-1], at=row.at,
                             limit=int(details.get("limit", 0)), wanted=int(details.get("wanted", 0))))
    return hits
