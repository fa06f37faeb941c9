"""Confirming by emailed link: binding a signature to the exact text approved, and asking again when the
letter gets a new text."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.config import Settings
from backend.db import utcnow
from backend.errors import InvalidInput, TokenInvalid
from backend.letters import diff
from backend.letters.models import Letter, LetterVersion
from backend.mail import service as mail
from backend.publishing import revision
from backend.security import hash_token
from backend.signatures import identity
from backend.signatures.access import SIGN_ON_COLUMNS, SignOnLetter, current_version
from backend.signatures.enums import SignatureStatus
from backend.signatures.models import Signature, SignatureToken
from backend.signatures.rules import MANAGE_DAYS, RECONFIRM_DAYS, link
from backend.signatures.tokens import Link, check, get_by_token, issue_token, spend

# A confirmation link, read as plain columns in one statement ---------------------------------------------------
# The page behind a confirmation link and its POST are the second half of every signature: they read the link, its
# signature, the letter and its current text as one row, and the POST writes with Core statements (no ORM object
# is loaded, compared or flushed). A reconfirmation, rarer, goes the ORM way (`get_by_token`).

@dataclass(frozen=True)
class Signer:
    """A signature as a confirmation reads and shows it."""

    id: int
    letter_id: int
    status: str
    kind: str
    display_name: str
    signer_name: str
    signer_role: str | None
    contact_email: str
    website: str | None
    via: str
    hold_reason: str | None
    approved_at: datetime | None


@dataclass(frozen=True)
class Text:
    """The letter's current text, as a receipt names it."""

    id: int
    number: int
    content_hash: str


@dataclass(frozen=True)
class ConfirmationLink:
    token_id: int
    purpose: str
    signature: Signer
    letter: SignOnLetter
    version: Text | None


_tokens, _signatures = SignatureToken.__table__, Signature.__table__  # type: ignore[attr-defined]
_letters, _versions = Letter.__table__, LetterVersion.__table__  # type: ignore[attr-defined]
_SIGNER = tuple(f.name for f in fields(Signer))
_LINK = (
    sa_select(_tokens.c.id.label("token_id"), _tokens.c.purpose.label("token_purpose"),
              _tokens.c.used_at.label("token_used_at"), _tokens.c.expires_at.label("token_expires_at"),
              *(_signatures.c[name].label(f"signature_{name}") for name in _SIGNER),
              *SIGN_ON_COLUMNS, _versions.c.number.label("version_number"))
    .select_from(_tokens.outerjoin(_signatures, _signatures.c.id == _tokens.c.signature_id)
                 .outerjoin(_letters, _letters.c.id == _signatures.c.letter_id)
                 .outerjoin(_versions, _versions.c.id == _letters.c.current_version_id))
    .where(_tokens.c.token_hash == bindparam("token_hash"))
)
_LETTER = tuple(f.name for f in fields(SignOnLetter))


def read_link(*, session: Session, token: str) -> ConfirmationLink:
    """A confirmation or reconfirmation link, if valid (`tokens.check`), read in one statement."""
    row: Any = session.connection().execute(_LINK, {"token_hash": hash_token(token or "")}).first()
    check(purpose=row.token_purpose if row is not None else None,
          used_at=row.token_used_at if row is not None else None,
          expires_at=row.token_expires_at if row is not None else None, purposes=("confirm", "reconfirm"))
    values = row._mapping
    if values["signature_id"] is None or values["id"] is None:
        raise TokenInvalid("This link is not valid any more.")
    signer = Signer(**{name: values[f"signature_{name}"] for name in _SIGNER})
    letter = SignOnLetter(**{name: values[name] for name in _LETTER})
    version = (Text(id=letter.current_version_id, number=values["version_number"],
                    content_hash=letter.version_content_hash)
               if letter.current_version_id is not None and letter.version_content_hash is not None else None)
    return ConfirmationLink(token_id=values["token_id"], purpose=values["token_purpose"], signature=signer,
                            letter=letter, version=version)


def _check_version(*, letter: Letter | SignOnLetter, version_id: int | None) -> LetterVersion | None:
    if version_id != letter.current_version_id:
        raise InvalidInput("The text of the letter changed while this page was open. Read the new text and "
                           "confirm again.", field="form")
    return None


def _approve_status(signature: Signature | Signer, letter: Letter | SignOnLetter) -> str:
    if signature.hold_reason and signature.approved_at is None:
        return "confirmed"  # a look-alike name waits for a person
    if signature.via == "invite" or not letter.moderate_open_signons or signature.approved_at is not None:
        return "approved"
    return "confirmed"


def _receipt(*, session: Session, settings: Settings, signature: Signature | Signer, letter: Letter | SignOnLetter,
             version: LetterVersion | Text, kind: str) -> str:
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
    """A text approved through an emailed link: the signature's new status, its new management link's raw token,
    and whether it was the first confirmation or the approval of a new text."""

    status: str
    manage_token: str
    purpose: str


def approve_text(*, session: Session, settings: Settings, token: str, version_id: int | None,
                 ip: str | None) -> Approved:
    """The POST behind an emailed confirmation or reconfirmation link (a confirmation reads its link once)."""
    link = read_link(session=session, token=token)
    if link.purpose == "confirm":
        status, manage = _confirm(session=session, settings=settings, link=link, version_id=version_id, ip=ip)
    else:
        ormlink = get_by_token(session=session, token=token, purposes=("reconfirm",))
        signature, manage = _reconfirm(session=session, settings=settings, link=ormlink, version_id=version_id,
                                       ip=ip)
        status = signature.status
    return Approved(status=status, manage_token=manage, purpose=link.purpose)


# Built once: a pending signature bound to the text approved (the status check guards against a second writer).
_CONFIRM = (update(_signatures).where(_signatures.c.id == bindparam("signature_id"))
            .where(_signatures.c.status == "pending")
            .values(version_id=bindparam("version_id"), content_hash=bindparam("content_hash"),
                    confirmed_at=bindparam("confirmed_at"), confirmed_domain=bindparam("confirmed_domain"),
                    status=bindparam("status"), approved_at=bindparam("approved_at")))


def _confirm(*, session: Session, settings: Settings, link: ConfirmationLink, version_id: int | None,
             ip: str | None) -> tuple[str, str]:
    """Binds a pending signature to the text shown and approves it; its new status and management token."""
    signature, letter, version = link.signature, link.letter, link.version
    if signature.status != "pending":
        raise TokenInvalid("This signature is no longer waiting for confirmation.")
    if letter.status != "open":
        raise InvalidInput("This letter is no longer open for signatures.", field="form")
    _check_version(letter=letter, version_id=version_id)
    assert version is not None  # the letter's current text, read with the link
    spend(session=session, token_id=link.token_id)
    now = utcnow()
    status = _approve_status(signature, letter)
    approved_at = now if status == "approved" else signature.approved_at
    changed = session.connection().execute(_CONFIRM, {
        "signature_id": signature.id, "version_id": version.id, "content_hash": version.content_hash,
        "confirmed_at": now, "status": status, "approved_at": approved_at,
        "confirmed_domain": identity.confirmed_domain(email=signature.contact_email, website=signature.website)})
    if changed.rowcount != 1:
        raise TokenInvalid("This signature is no longer waiting for confirmation.")
    signature = replace(signature, status=status, approved_at=approved_at)
    manage = _receipt(session=session, settings=settings, signature=signature, letter=letter, version=version,
                      kind="confirmed")
    audit.record(session=session, action="signature_confirmed", actor=f"signatory {signature.contact_email}",
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"status": signature.status, "version_id": version.id,
                          "content_hash": version.content_hash})
    revision.bump(session=session, letter_id=signature.letter_id)
    return status, manage


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
    spend(session=session, token_id=row.id)
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
