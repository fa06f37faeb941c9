"""Reading a letter's signatures (all, listed publicly, shown while open) and proposing a listing change."""

from __future__ import annotations

from sqlalchemy import case
from sqlmodel import Session, col, select

from backend.errors import NotFound
from backend.letters.models import Letter
from backend.signatures import identity
from backend.signatures.enums import SignatureKind
from backend.signatures.models import ListingChange, Signature
from backend.signatures.rules import LISTED_STATUSES
from backend.text import fold


def get_signatures(*, session: Session, letter_id: int) -> list[Signature]:
    """Every signature row of a letter, in display order."""
    stmt = (select(Signature).where(Signature.letter_id == letter_id)
            .order_by(col(Signature.display_order), col(Signature.created_at), col(Signature.id)))
    return list(session.exec(stmt))


def get_listed(*, session: Session, letter: Letter) -> list[Signature]:
    """The signatures shown publicly: approved on the current text; organisations first, in display order."""
    stmt = (
        select(Signature)
        .where(Signature.letter_id == letter.id)
        .where(col(Signature.status).in_(LISTED_STATUSES))
        .where(Signature.version_id == letter.current_version_id)
        .order_by(case((col(Signature.kind) == "organisation", 0), else_=1), col(Signature.display_order),
                  col(Signature.approved_at), col(Signature.id))
    )
    return list(session.exec(stmt))


def name_taken(*, session: Session, letter_id: int, kind: str, name_key: str, signature_id: int | None) -> bool:
    return session.exec(select(Signature.id).where(Signature.letter_id == letter_id).where(Signature.kind == kind)
                        .where(Signature.name_key == name_key).where(Signature.id != signature_id)).first() is not None


def propose(*, session: Session, signature_id: int, letter_id: int, kind: str, display_name: str,
             website: str | None) -> ListingChange:
    """Records (or replaces) the one change of a listing waiting for the lead, with why it is held if it is a
    look-alike."""
    change = identity.pending_change(session=session, signature_id=signature_id) or ListingChange(
        signature_id=signature_id, display_name=display_name)
    change.display_name, change.website, change.kind = display_name, website, SignatureKind(kind)
    change.hold_reason = identity.look_alike(session=session, letter_id=letter_id, name=display_name,
                                             name_key=fold(display_name), exclude_signature_id=signature_id)
    session.add(change)
    session.flush()
    return change


def signature_of_letter(*, session: Session, letter: Letter, signature_id: int) -> Signature:
    signature = session.get(Signature, signature_id)
    if signature is None or signature.letter_id != letter.id:
        raise NotFound("There is no such signature on this letter.")
    return signature
