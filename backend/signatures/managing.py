"""A signatory's own links: withdrawing, and correcting how they are listed (until publication)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from backend.audit import service as audit
from backend.config import Settings
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.letters.models import Letter
from backend.publishing import revision
from backend.signatures import identity, logos
from backend.signatures.enums import SignatureStatus
from backend.signatures.listing import name_taken, propose
from backend.signatures.models import Signature, SignatureToken
from backend.signatures.rules import ENDED_STATUSES
from backend.signatures.signing import SignatureInput, validate
from backend.signatures.tokens import get_by_token, spend
from backend.text import fold, skeleton


def withdraw(*, session: Session, signature: Signature, actor: str, actor_user_id: int | None,
              ip: str | None, reason: str = "") -> Signature:
    if signature.status in ENDED_STATUSES:
        raise Conflict(f"This signature is already {signature.status}.")
    before = signature.status
    signature.status = SignatureStatus.withdrawn
    signature.withdrawn_at = utcnow()
    session.add(signature)
    session.execute(update(SignatureToken).where(col(SignatureToken.signature_id) == signature.id)
                    .where(col(SignatureToken.purpose).in_(("confirm", "reconfirm")))
                    .where(col(SignatureToken.used_at).is_(None)).values(used_at=utcnow()))
    audit.record(session=session, action="signature_withdrawn", actor=actor, actor_user_id=actor_user_id,
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"from": before, "reason": reason[:500]})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature


@dataclass(frozen=True)
class ManageState:
    """What the management page may offer: the listing form and withdrawing, or a note on why not."""

    closed: bool  # the listing can no longer be changed here
    published_note: bool  # closed because the letter is published: the coalition can still change it

    @classmethod
    def of(cls, *, letter: Letter, signature: Signature) -> ManageState:
        published, ended = letter.status == "published", signature.status in ENDED_STATUSES
        return cls(closed=published or ended, published_note=published and not ended)


def withdraw_by_token(*, session: Session, token: str, ip: str | None) -> Signature:
    """A signatory withdraws through their reconfirmation or management link (until publication)."""
    row, signature, letter, _version = get_by_token(session=session, token=token, purposes=("reconfirm", "manage"))
    if letter.status == "published":
        raise Forbidden("This letter has been published. To withdraw your signature now, contact the coalition "
                        "that invited you: they can withdraw it for you, and the change is recorded.")
    if row.purpose == "reconfirm":
        spend(session=session, token_id=row.id)
    return withdraw(session=session, signature=signature, actor=f"signatory {signature.contact_email}",
                     actor_user_id=None, ip=ip)


@dataclass
class ListingInput:
    display_name: str = ""
    signer_name: str = ""
    signer_role: str = ""
    website: str = ""
    city: str = ""
    logo: bytes | None = None
    remove_logo: bool = False


def update_listing(*, session: Session, settings: Settings, token: str, data: ListingInput,
                   ip: str | None) -> Signature:
    """A signatory corrects how they are listed, through their management link (until publication).

    Once a listing was approved (and always for an invited organisation), a new name or website is only a
    proposal: the listing stays as it was until the lead approves the change.
    """
    _row, signature, letter, _version = get_by_token(session=session, token=token, purposes=("manage",))
    if letter.status == "published":
        raise Forbidden("This letter has been published. Contact the coalition to change your listing.")
    if signature.status in ENDED_STATUSES:
        raise Conflict(f"This signature is {signature.status}: its listing can no longer be changed.")
    clean = validate(letter=letter, data=SignatureInput(
        kind=signature.kind, display_name=data.display_name, signer_name=data.signer_name,
        signer_role=data.signer_role, contact_email=signature.contact_email, website=data.website,
        city=data.city, attested=True, logo=data.logo or (b"kept" if signature.logo_path else None),
    ))
    name_key = fold(clean.display_name)
    if name_key != signature.name_key and name_taken(session=session, letter_id=letter.id, kind=signature.kind,  # type: ignore[arg-type]
                                                      name_key=name_key, signature_id=signature.id):
        raise InvalidInput("Another signature on this letter already uses that name.", field="display_name")
    identity_changed = (clean.display_name != signature.display_name
                        or (clean.website or None) != signature.website)
    held = identity_changed and (signature.approved_at is not None or signature.via == "invite")
    old_logo = signature.logo_path
    new_logo = (logos.store(logos.clean(data.logo), media_dir=settings.media_dir)
                if data.logo and signature.kind == "organisation" else None)
    before = {"display_name": signature.display_name, "signer_name": signature.signer_name,
              "signer_role": signature.signer_role, "website": signature.website, "city": signature.city}
    if held:
        propose(session=session, signature_id=signature.id, letter_id=letter.id, kind=signature.kind,  # type: ignore[arg-type]
                 display_name=clean.display_name, website=clean.website or None)
    elif identity_changed:
        signature.display_name, signature.name_key = clean.display_name, name_key
        signature.skeleton = skeleton(clean.display_name)
        signature.website = clean.website or None
        if signature.status in ("pending", "confirmed") and signature.kind == "organisation":
            signature.hold_reason = identity.look_alike(session=session, letter_id=letter.id,
                                                        name=clean.display_name, name_key=name_key,
                                                        exclude_signature_id=signature.id)
    signature.signer_name, signature.signer_role = clean.signer_name, clean.signer_role
    signature.city = clean.city or None
    if new_logo or data.remove_logo:
        signature.logo_path = new_logo
    try:
        with session.begin_nested():
            session.add(signature)
            session.flush()
    except IntegrityError as exc:
        logos.remove(new_logo, media_dir=settings.media_dir)
        raise InvalidInput("Another signature on this letter already uses that name.", field="display_name") from exc
    if signature.logo_path != old_logo:
        logos.remove(old_logo, media_dir=settings.media_dir)
    audit.record(session=session, action="signature_listing_changed",
                 actor=f"signatory {signature.contact_email}", subject_type="signature", subject_id=signature.id,
                 ip=ip, details={"before": before, "logo_changed": signature.logo_path != old_logo,
                                 **({"proposed": {"display_name": clean.display_name, "website": clean.website}}
                                    if held else {})})
    return signature
