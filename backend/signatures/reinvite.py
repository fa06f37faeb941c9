"""Inviting again an organisation that declined or withdrew: its old answer is kept in the audit, and a new
invite (with a new link) replaces it, so it can sign like anyone invited."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns.policy import Action
from backend.config import Settings
from backend.db import as_utc, utcnow
from backend.errors import Conflict
from backend.letters.models import Letter
from backend.security import hash_token, new_token
from backend.signatures import access, invites, limits
from backend.signatures.enums import InviteStatus
from backend.signatures.models import Invite, Signature

AGAIN_STATUSES = ("declined", "withdrawn")


def get_candidate(*, session: Session, letter: Letter, signature_id: int) -> Signature:
    """The declined or withdrawn signature to invite again; Conflict when it is neither."""
    signature = session.get(Signature, signature_id)
    if signature is None or signature.letter_id != letter.id:
        raise Conflict("There is no such signatory on this letter.")
    if signature.status not in AGAIN_STATUSES:
        raise Conflict(f"{signature.display_name} has not declined or withdrawn: there is nothing to invite again.")
    return signature


def get_candidate_for(*, session: Session, letter: Letter, user: User, signature_id: int) -> Signature:
    """`get_candidate`, for a member who may invite (the page that asks to confirm)."""
    access.require(session=session, letter=letter, user=user, action=Action.invite)
    return get_candidate(session=session, letter=letter, signature_id=signature_id)


def invite_again(*, session: Session, settings: Settings, letter: Letter, signature_id: int, user: User,
                 ip: str | None) -> Invite:
    """Replaces a declined or withdrawn answer with a fresh invite, emailed at once (editor or lead)."""
    role = access.require(session=session, letter=letter, user=user, action=Action.invite)
    if letter.status != "open":
        raise Conflict("Open the letter for signatures before inviting organisations again.")
    signature = get_candidate(session=session, letter=letter, signature_id=signature_id)
    limits.check(session=session, settings=settings, user=user, role=role,
                 wanted=1)  # an invite again is mail like any invite
    details = {"signature_id": signature.id, "organisation": signature.display_name, "status": signature.status,
               "reason": (signature.decline_reason or "")[:200],
               "at": (as_utc(signature.declined_at or signature.withdrawn_at) or utcnow()).isoformat()}
    name, email = signature.display_name, signature.contact_email
    if signature.invite_id is not None:
        old = session.get(Invite, signature.invite_id)
        if old is not None:
            old.status = InviteStatus.revoked
            session.add(old)
    session.delete(signature)
    session.flush()
    invite = Invite(letter_id=letter.id, organisation_name=name, email=email,  # type: ignore[arg-type]
                    token_hash=hash_token(new_token()), expires_at=utcnow(), created_by_id=user.id)
    session.add(invite)
    session.flush()
    invites.send_invite(session=session, settings=settings, invite=invite, letter=letter)
    audit.record(session=session, action="invited_again", actor=audit.actor_of(user),
                 actor_user_id=user.id, subject_type="invite", subject_id=invite.id, ip=ip, details=details)
    return invite
