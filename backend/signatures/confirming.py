"""Confirming by emailed link: binding a signature to the exact text approved, and asking again when the
letter gets a new text."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.config import Settings
from backend.db import utcnow
from backend.errors import InvalidInput, TokenInvalid
from backend.letters import diff
from backend.letters.models import Letter, LetterVersion
from backend.mail import service as mail
from backend.publishing import revision
from backend.signatures import identity
from backend.signatures.access import current_version
from backend.signatures.enums import SignatureStatus
from backend.signatures.models import Signature
from backend.signatures.rules import MANAGE_DAYS, RECONFIRM_DAYS, link
from backend.signatures.tokens import Link, get_by_token, issue_token, spend


def _check_version(*, letter: Letter, version_id: int | None) -> LetterVersion | None:
    if version_id != letter.current_version_id:
        raise InvalidInput("The text of the letter changed while this page was open. Read the new text and "
                           "confirm again.", field="form")
    return None


def _approve_status(signature: Signature, letter: Letter) -> str:
    if signature.hold_reason and signature.approved_at is None:
        return "confirmed"  # a look-alike name waits for a person
    if signature.via == "invite" or not letter.moderate_open_signons or signature.approved_at is not None:
        return "approved"
    return "confirmed"


def _receipt(*, session: Session, settings: Settings, signature: Signature, letter: Letter, version: LetterVersion,
             kind: str) -> str:
    manage = issue_token(session=session, signature_id=signature.id,  # type: ignore[arg-type]
                          purpose="manage", days=MANAGE_DAYS)
    mail.enqueue(
        session=session, to=signature.contact_email, template="signature_receipt",
        context={"signature": signature, "letter": letter, "version": version, "kind": kind,
                 "manage_link": link(settings,
                                     f"/manage/{manage}"), "awaiting_moderation": signature.status == "confirmed"},
        dedupe_key=f"sig-receipt:{signature.id}:{version.id}",
    )
    return manage


@dataclass(frozen=True)
class Approved:
    """A text approved through an emailed link: the signature, its new management link's raw token, and whether
    it was the first confirmation or the approval of a new text."""

    signature: Signature
    manage_token: str
    purpose: str


def approve_text(*, session: Session, settings: Settings, token: str, version_id: int | None,
                 ip: str | None) -> Approved:
    """The POST behind an emailed confirmation or reconfirmation link (the link is read once)."""
    link = get_by_token(session=session, token=token, purposes=("confirm", "reconfirm"))
    act = _confirm if link.token.purpose == "confirm" else _reconfirm
    signature, manage = act(session=session, settings=settings, link=link, version_id=version_id, ip=ip)
    return Approved(signature=signature, manage_token=manage, purpose=link.token.purpose)


def _confirm(*, session: Session, settings: Settings, link: Link, version_id: int | None,
             ip: str | None) -> tuple[Signature, str]:
    """Binds a pending signature to the text shown and approves it."""
    row, signature, letter, version = link
    if signature.status != "pending":
        raise TokenInvalid("This signature is no longer waiting for confirmation.")
    if letter.status != "open":
        raise InvalidInput("This letter is no longer open for signatures.", field="form")
    _check_version(letter=letter, version_id=version_id)
    assert version is not None  # the letter's current text, read with the link
    spend(session=session, row=row)
    now = utcnow()
    signature.version_id, signature.content_hash = version.id, version.content_hash
    signature.confirmed_at = now
    signature.confirmed_domain = identity.confirmed_domain(email=signature.contact_email, website=signature.website)
    signature.status = SignatureStatus(_approve_status(signature, letter))
    if signature.status == "approved":
        signature.approved_at = now
    session.add(signature)
    session.flush()
    manage = _receipt(session=session, settings=settings, signature=signature, letter=letter, version=version,
                      kind="confirmed")
    audit.record(session=session, action="signature_confirmed", actor=f"signatory {signature.contact_email}",
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"status": signature.status, "version_id": version.id,
                          "content_hash": version.content_hash})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature, manage


def on_new_version(*, session: Session, settings: Settings, letter: Letter, version: LetterVersion) -> int:
    """After a new text is saved: signatures on an older text need reconfirmation and get the diff by email."""
    stmt = (select(Signature).where(Signature.letter_id == letter.id)
            .where(col(Signature.status).in_(("confirmed", "approved", "needs_reconfirmation"))))
    count = 0
    for signature in session.exec(stmt).all():
        if signature.content_hash == version.content_hash:
            continue  # the text went back to exactly what they approved
        old = session.get(LetterVersion, signature.version_id) if signature.version_id else None
        signature.status = SignatureStatus.needs_reconfirmation
        session.add(signature)
        token = issue_token(session=session, signature_id=signature.id,  # type: ignore[arg-type]
                             purpose="reconfirm", days=RECONFIRM_DAYS)
        changes = diff.text_diff(old, version)
        mail.enqueue(
            session=session, to=signature.contact_email, template="signature_reconfirm",
            context={"signature": signature, "letter": letter, "version": version, "old": old,
                     "diff_text": diff.as_plain_text(changes), "segments": changes,
                     "approve_link": link(settings, f"/confirm/{token}"),
                     "withdraw_link": link(settings, f"/confirm/{token}/withdraw")},
            dedupe_key=f"sig-reconfirm:{signature.id}:{version.id}",
        )
        audit.record(session=session, action="signature_needs_reconfirmation", actor="system",
                     subject_type="signature", subject_id=signature.id,
                     details={"old_version_id": signature.version_id, "new_version_id": version.id})
        count += 1
    session.flush()
    return count


def diff_for(*, session: Session, signature: Signature, letter: Letter) -> list[diff.Change]:
    """What changed between the text the signatory approved and the current one."""
    new = current_version(session=session, letter=letter)
    old = session.get(LetterVersion, signature.version_id) if signature.version_id else None
    if new is None:
        return []
    return diff.text_diff(old, new)


def _reconfirm(*, session: Session, settings: Settings, link: Link, version_id: int | None,
               ip: str | None) -> tuple[Signature, str]:
    """Approves the letter's new text for a signature that needed reconfirmation."""
    row, signature, letter, version = link
    if signature.status != "needs_reconfirmation":
        raise TokenInvalid("This signature is not waiting for a new approval.")
    if letter.status == "published":
        raise InvalidInput("This letter has been published; its text can no longer be approved.", field="form")
    _check_version(letter=letter, version_id=version_id)
    assert version is not None  # the letter's current text, read with the link
    spend(session=session, row=row)
    old_version_id = signature.version_id
    signature.version_id, signature.content_hash = version.id, version.content_hash
    signature.confirmed_at = utcnow()
    signature.status = SignatureStatus(_approve_status(signature, letter))
    session.add(signature)
    session.flush()
    manage = _receipt(session=session, settings=settings, signature=signature, letter=letter, version=version,
                      kind="reconfirmed")
    audit.record(session=session, action="signature_reconfirmed", actor=f"signatory {signature.contact_email}",
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"old_version_id": old_version_id, "version_id": version.id,
                          "content_hash": version.content_hash})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature, manage
