"""Subject access for site admins: everything held under one email address across the instance, exported or
erased. Each search, export and erasure is in the audit log (with the address sealed like any personal value,
so that erasing the person also erases the record of having searched for them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.accounts.service import normalise_email
from backend.audit import service as audit
from backend.campaigns.models import CoalitionInvite
from backend.config import Settings
from backend.errors import InvalidInput
from backend.letters.models import Letter, PressContact, Recipient
from backend.mail.models import OutboundEmail
from backend.privacy import accounts as accounts_privacy
from backend.privacy import service
from backend.privacy.models import Erasure, ErasureKind
from backend.publishing.models import PressLink
from backend.signatures.models import Invite, Signature


def _all_columns(obj: Any) -> dict[str, Any]:
    return service._record(obj, tuple(obj.__table__.columns.keys()))


@dataclass
class Found:
    email: str
    user: User | None = None
    signatures: list[tuple[Signature, Letter]] = field(default_factory=list)
    invites: list[Invite] = field(default_factory=list)
    coalition_invites: list[CoalitionInvite] = field(default_factory=list)
    press_links: list[PressLink] = field(default_factory=list)
    press_contacts: list[PressContact] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)
    outbox: int = 0
    audit_events: dict[int, set[str]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {"account": int(self.user is not None), "signatures": len(self.signatures),
                "invites": len(self.invites), "coalition_invites": len(self.coalition_invites),
                "press_links": len(self.press_links), "press_contacts": len(self.press_contacts),
                "recipients": len(self.recipients), "emails": self.outbox, "audit_events": len(self.audit_events)}

    @property
    def anything(self) -> bool:
        return any(self.counts.values())


def _clean(email: str) -> str:
    try:
        return normalise_email(email)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="email") from exc


def _find(session: Session, email: str) -> Found:
    folded = email.lower()

    def same(column: Any) -> Any:
        return func.lower(column) == folded

    found = Found(email=email)
    found.user = session.exec(select(User).where(same(User.email))).first()
    found.signatures = [(s, letter) for s, letter in session.exec(
        select(Signature, Letter).join(Letter, col(Letter.id) == Signature.letter_id)
        .where(same(Signature.contact_email) | same(Signature.email_key)).order_by(col(Signature.id)))]
    found.invites = list(session.exec(select(Invite).where(same(Invite.email))))
    found.coalition_invites = list(session.exec(select(CoalitionInvite).where(same(CoalitionInvite.email))))
    found.press_links = list(session.exec(select(PressLink).where(same(PressLink.email))))
    found.press_contacts = list(session.exec(select(PressContact).where(same(PressContact.email))))
    found.recipients = list(session.exec(select(Recipient).where(same(Recipient.email))))
    found.outbox = int(session.exec(select(func.count()).select_from(OutboundEmail)
                                    .where(same(OutboundEmail.to_address))).one())
    found.audit_events = audit.events_mentioning(session=session, needles=[email])
    if found.user is not None:
        found.audit_events.update(accounts_privacy._account_events(session, found.user))
    return found



def search(*, session: Session, admin: User, email: str, ip: str | None) -> Found:
    """What is held under this address (site admins only; the route checks)."""
    found = _find(session, _clean(email))
    audit.record(session=session, action="subject_access_searched", actor=audit.actor_of(admin), actor_user_id=admin.id,
                 ip=ip, details={"email": found.email, "found": found.counts})
    return found


def export(*, session: Session, admin: User, email: str, ip: str | None) -> dict[str, Any]:
    """A subject access export: every record held under the address."""
    found = _find(session, _clean(email))
    data: dict[str, Any] = {
        "email": found.email,
        "account": accounts_privacy.account_export(session=session, user=found.user) if found.user else None,
        "signatures": [{"letter": {"title": letter.title, "slug": letter.slug, "status": letter.status},
                        "signature": service._record(s, service.SIGNATURE_FIELDS)} for s, letter in found.signatures],
        "invites": [service._record(i, service.INVITE_FIELDS) for i in found.invites],
        "coalition_invites": [_all_columns(i) for i in found.coalition_invites],
        "press_links": [_all_columns(p) for p in found.press_links],
        "press_contacts": [_all_columns(p) for p in found.press_contacts],
        "recipients": [_all_columns(r) for r in found.recipients],
        "emails": [{k: v for k, v in _all_columns(e).items() if k not in ("html",)} for e in session.exec(
            select(OutboundEmail).where(func.lower(OutboundEmail.to_address) == found.email.lower())
            .order_by(col(OutboundEmail.id)))],
        "audit_events": service._audit_events(session, found.audit_events),
    }
    audit.record(session=session, action="subject_access_exported", actor=audit.actor_of(admin), actor_user_id=admin.id,
                 ip=ip, details={"email": found.email, "found": found.counts})
    return data


def erase(*, session: Session, settings: Settings, admin: User, email: str,
          ip: str | None) -> tuple[dict[str, int], set[int]]:
    """Erases everything held under the address; returns the counts and the letters whose public copies must go.

    The record of the erasure names no address: the admin's earlier searches for it are erased with the rest.
    """
    found = _find(session, _clean(email))
    counts = found.counts
    reason = "erasure by a site admin after a subject access request"
    letters: set[int] = set()
    for signature, letter in found.signatures:
        service.erase_signature(session=session, settings=settings, signature=signature,
                                actor=audit.actor_of(admin), reason=reason,
                                actor_user_id=admin.id, kind=ErasureKind.subject)
        assert letter.id is not None
        letters.add(letter.id)
    for invite in found.invites:
        if session.get(Invite, invite.id) is not None:  # a signature's invite may have gone with it
            session.delete(invite)
    for coalition_invite in found.coalition_invites:
        session.delete(coalition_invite)
    for link in found.press_links:
        link.email = ""
        link.journalist = service.ERASED_TEXT
        session.add(link)
    for contact in found.press_contacts:
        contact.email = ""
        session.add(contact)
        letters.add(contact.letter_id)
    for recipient in found.recipients:
        recipient.email = None
        session.add(recipient)
    if found.user is not None and session.get(User, found.user.id) is not None:
        accounts_privacy.erase_account(session=session, user=found.user, actor=audit.actor_of(admin),
                                       actor_user_id=admin.id, reason=reason, kind=ErasureKind.subject)
    # What is left: the address in the audit log and the outbox (searches, and lines no record above covered).
    audit.erase_values(session=session, fields_by_event=audit.events_mentioning(session=session,
                                                                                 needles=[found.email]),
                       actor=audit.actor_of(admin), actor_user_id=admin.id, reason=reason)
    service.scrub_outbox(session=session, needles=[found.email], addresses=[found.email])
    if not found.signatures and found.user is None:
        session.add(Erasure(kind=ErasureKind.subject))
    session.flush()
    audit.record(session=session, action="subject_erased", actor=audit.actor_of(admin), actor_user_id=admin.id, ip=ip,
                 details={"erased": counts})
    for letter_id in sorted(letters):  # a press contact's address is in the press release
        service.forget_public_copies(session=session, settings=settings, letter_id=letter_id)
    return counts, letters
