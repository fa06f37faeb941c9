"""The lead's moderation: approving open sign-ons and listing changes, correcting a listing, withdrawing on
request, and the display order."""

from __future__ import annotations

from sqlmodel import Session

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns.policy import Action
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput
from backend.letters.models import Letter
from backend.mail import service as mail
from backend.publishing import revision
from backend.signatures import identity
from backend.signatures.access import require
from backend.signatures.enums import SignatureStatus
from backend.signatures.listing import get_signatures, name_taken, signature_of_letter
from backend.signatures.managing import withdraw
from backend.signatures.models import Signature
from backend.signatures.rules import STATE_LABELS, URL_RE, clean_spaces
from backend.text import clean_name, fold, skeleton


def moderate_change(*, session: Session, letter: Letter, signature_id: int, approve: bool, user: User,
                    ip: str | None) -> Signature:
    """The lead approves a held change of a listing (it is applied) or rejects it (the listing stays)."""
    require(session=session, letter=letter, user=user, action=Action.moderate)
    signature = signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    change = identity.pending_change(session=session, signature_id=signature.id)
    if change is None:
        raise Conflict(f"{signature.display_name} has no change waiting for approval.")
    before = {"display_name": signature.display_name, "website": signature.website, "kind": signature.kind}
    after = {"display_name": change.display_name, "website": change.website, "kind": change.kind}
    if approve:
        name_key = fold(change.display_name)
        if name_taken(session=session, letter_id=letter.id, kind=change.kind, name_key=name_key,  # type: ignore[arg-type]
                       signature_id=signature.id):
            raise Conflict(f"Another signature on this letter is already listed as {change.display_name}.")
        signature.display_name, signature.name_key, signature.kind = change.display_name, name_key, change.kind
        signature.skeleton = skeleton(change.display_name)
        signature.website = change.website
        signature.confirmed_domain = identity.confirmed_domain(email=signature.contact_email, website=change.website)
        session.add(signature)
    session.delete(change)
    session.flush()
    audit.record(session=session, action="listing_change_approved" if approve else "listing_change_rejected",
                 actor=audit.actor_of(user), actor_user_id=user.id, subject_type="signature",
                 subject_id=signature.id, ip=ip, details={"before": before, "after": after})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature


def moderate(*, session: Session, letter: Letter, signature_id: int, approve: bool, user: User,
             ip: str | None) -> Signature:
    """Approves or rejects a confirmed open sign-on (lead only)."""
    require(session=session, letter=letter, user=user, action=Action.moderate)
    signature = signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    if signature.status != "confirmed":
        raise Conflict(f"{signature.display_name} is {STATE_LABELS.get(signature.status, signature.status)}, "
                       "not waiting for moderation.")
    signature.status = SignatureStatus.approved if approve else SignatureStatus.rejected
    if approve:
        signature.approved_at = utcnow()
    session.add(signature)
    audit.record(session=session, action="signature_approved" if approve else "signature_rejected",
                 actor=audit.actor_of(user), actor_user_id=user.id, subject_type="signature",
                 subject_id=signature.id, ip=ip)
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature


CORRECTABLE_STATES = ("pending", "confirmed", "approved", "needs_reconfirmation")


def correct_listing(*, session: Session, letter: Letter, signature_id: int, display_name: str, user: User,
                    ip: str | None) -> tuple[Signature, str]:
    """The lead corrects the spelling of a listed name (as moderator, no approval needed); the signatory is told
    by email. Returns the signature and the name it had."""
    require(session=session, letter=letter, user=user, action=Action.moderate)
    signature = signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    if signature.status not in CORRECTABLE_STATES:
        raise Conflict(f"{signature.display_name} is {STATE_LABELS.get(signature.status, signature.status)}: its "
                       "listing is no longer shown.")
    name = clean_name(display_name, label="The name", field="display_name")
    if not name or len(name) > 200 or URL_RE.search(name):
        raise InvalidInput("Enter the name as it should be listed (no web addresses, 200 characters at most).",
                           field="display_name")
    if name == signature.display_name:
        raise InvalidInput(f"The listing already reads “{name}”.", field="display_name")
    name_key = fold(name)
    if name_key != signature.name_key and name_taken(session=session, letter_id=letter.id, kind=signature.kind,  # type: ignore[arg-type]
                                                      name_key=name_key, signature_id=signature.id):
        raise InvalidInput("Another signature on this letter is already listed under that name.",
                           field="display_name")
    before = signature.display_name
    signature.display_name, signature.name_key = name, name_key
    signature.skeleton = skeleton(name)
    session.add(signature)
    session.flush()
    audit.record(session=session, action="listing_corrected", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="signature", subject_id=signature.id, ip=ip, details={"before": before, "after": name})
    if signature.contact_email:
        mail.enqueue(session=session, to=signature.contact_email, template="listing_corrected",
                     context={"letter": letter, "signature": signature, "before": before},
                     dedupe_key=f"listing-corrected:{signature.id}:{name_key}")
    revision.bump(session=session, letter_id=letter.id)
    return signature, before


def withdraw_by_lead(*, session: Session, letter: Letter, signature_id: int, reason: str, user: User,
                     ip: str | None) -> Signature:
    """The lead withdraws a signature at the signatory's request (the only way after publication)."""
    require(session=session, letter=letter, user=user, action=Action.moderate)
    signature = signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    if not clean_spaces(reason):
        raise InvalidInput("Say why the signature is withdrawn (for example, who asked and when).", field="reason")
    return withdraw(session=session, signature=signature, actor=audit.actor_of(user), actor_user_id=user.id, ip=ip,
                     reason=clean_spaces(reason))


def set_display_order(*, session: Session, letter: Letter, order: dict[int, int], user: User,
                      ip: str | None) -> None:
    """Sets the position of each signature in the published list (lower numbers first)."""
    require(session=session, letter=letter, user=user, action=Action.order_signatories)
    changed = {}
    for signature in get_signatures(session=session, letter_id=letter.id):  # type: ignore[arg-type]
        if signature.id in order and order[signature.id] != signature.display_order:
            position = order[signature.id]
            if not -100_000 <= position <= 100_000:
                raise InvalidInput("Use whole numbers between -100000 and 100000 for the order.", field="order")
            signature.display_order = position
            session.add(signature)
            changed[signature.id] = position
    if changed:
        audit.record(session=session, action="signature_order_changed", actor=audit.actor_of(user),
                     actor_user_id=user.id, subject_type="letter", subject_id=letter.id, ip=ip,
                     details={"order": changed})
        revision.bump(session=session, letter_id=letter.id)
