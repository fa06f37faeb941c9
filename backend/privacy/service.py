"""What is held about a person: shown, exported and erased.

A signatory reaches their data through their management link; an account holder through their profile; a site
admin by a subject access search. Erasure removes the values themselves from every table that holds them (the
audit chain keeps only salted digests of what it covered, see backend/audit), and drops the public pages and
built documents of the letter so that nothing built before the erasure is served again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.models import AuditEvent
from backend.config import Settings
from backend.db import as_utc
from backend.letters.models import Letter, LetterRecipient, LetterVersion
from backend.mail.models import OutboundAttachment, OutboundEmail
from backend.privacy.models import Erasure, ErasureKind
from backend.publishing import documents
from backend.responses.models import Dispatch
from backend.signatures import tokens as signature_tokens
from backend.signatures.models import Invite, ListingChange, Signature, SignatureToken

ERASED_TEXT = "[erased]"

# Every column of a signature, with what it means to the person. A column added to the model must be added
# here too (tests/privacy/test_export.py fails until it is): nothing held about a person is left out of an export.
SIGNATURE_FIELDS: dict[str, str] = {
    "id": "Reference of this signature",
    "created_at": "When the signature was first submitted",
    "updated_at": "When it last changed",
    "letter_id": "Reference of the letter",
    "version_id": "Reference of the version of the text approved",
    "content_hash": "SHA-256 fingerprint of the text approved",
    "kind": "Signed as an organisation or as an individual",
    "display_name": "Name listed",
    "name_key": "Name listed, folded for comparison",
    "signer_name": "Signer's name",
    "signer_role": "Signer's role",
    "contact_email": "Contact email (never published)",
    "email_key": "Contact email, folded for comparison",
    "website": "Website listed",
    "logo_path": "Logo file listed",
    "city": "Town or city listed",
    "status": "Status",
    "via": "How the letter was reached (an invite or the open sign-on link)",
    "invite_id": "Reference of the invite",
    "display_order": "Position in the list",
    "attested_at": "When the signer attested they may sign for the organisation",
    "confirmed_at": "When the signature was confirmed by the link sent to the contact email",
    "approved_at": "When the signature was approved for listing",
    "withdrawn_at": "When it was withdrawn",
    "declined_at": "When the invite was declined",
    "decline_reason": "Reason given for declining",
    "notify_updates": "Asked to be told about replies and updates",
    "skeleton": "Name listed, reduced to the shapes of its letters (to catch look-alike names)",
    "hold_reason": "Why the listing waits for the lead (a look-alike name, say)",
    "confirmed_domain": "The organisation's web domain, when the confirming address belongs to it",
}
# A change of an approved listing proposed by the signatory, waiting for the lead.
LISTING_CHANGE_FIELDS: dict[str, str] = {
    "id": "Reference of the change", "created_at": "When it was proposed", "updated_at": "When it last changed",
    "signature_id": "Reference of the signature", "display_name": "Name proposed", "website": "Website proposed",
    "kind": "Organisation or individual, as proposed", "hold_reason": "Why it waits for the lead",
}
INVITE_FIELDS: dict[str, str] = {
    "id": "Reference of the invite",
    "created_at": "When the invite was made",
    "updated_at": "When it last changed",
    "letter_id": "Reference of the letter",
    "organisation_name": "Organisation invited",
    "email": "Email invited",
    "token_hash": "Digest of the invite link (the link itself is not kept)",
    "expires_at": "When the invite link expires",
    "status": "Status of the invite",
    "sent_at": "When the invite was sent",
    "opened_at": "When the invite link was first opened",
    "reminded_at": "When a reminder was sent",
    "resend_count": "How many times it was sent again",
    "created_by_id": "Reference of the staff account that invited",
}
TOKEN_FIELDS: dict[str, str] = {
    "id": "Reference of the link",
    "created_at": "When the link was made",
    "updated_at": "When it last changed",
    "signature_id": "Reference of the signature",
    "purpose": "What the link is for",
    "token_hash": "Digest of the link (the link itself is not kept)",
    "expires_at": "When the link expires",
    "used_at": "When the link was used",
}
OUTBOX_FIELDS: dict[str, str] = {
    "id": "Reference of the email", "created_at": "When it was written", "updated_at": "When it last changed",
    "to_address": "Sent to", "template": "Which kind of email", "subject": "Subject", "text": "Text",
    "html": "The same text as HTML", "reply_to": "Replies went to", "status": "Whether it was sent",
    "attempts": "Attempts to send it", "next_attempt_at": "When it was to be tried next",
    "lease_expires_at": "Until when a worker was sending it", "last_error": "The mail server's last answer",
    "sent_at": "When it was sent", "message_id": "Its Message-ID",
    "dedupe_key": "What it was about (so it is sent once)", "transport": "How it was sent",
}
AUDIT_FIELDS = ("id", "at", "action", "actor", "ip", "details", "subject_type", "subject_id")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (as_utc(value) or value).isoformat()
    return value


def _record(obj: Any, fields: dict[str, str] | tuple[str, ...]) -> dict[str, Any]:
    return {name: _value(getattr(obj, name)) for name in fields}


def _audit_events(session: Session, found: dict[int, set[str]]) -> list[dict[str, Any]]:
    if not found:
        return []
    rows = session.exec(select(AuditEvent).where(col(AuditEvent.id).in_(list(found))).order_by(col(AuditEvent.id)))
    return [_record(event, AUDIT_FIELDS) for event in rows]


def emails_to(*, session: Session, address: str) -> list[dict[str, Any]]:
    """The emails kept that were sent (or are to be sent) to this address."""
    if not address:
        return []
    rows = session.exec(select(OutboundEmail).where(func.lower(OutboundEmail.to_address) == address.lower())
                        .order_by(col(OutboundEmail.id)))
    return [_record(email, OUTBOX_FIELDS) for email in rows]


# A signatory, through their management link -------------------------------------------------------------

@dataclass
class SignatoryData:
    signature: Signature
    letter: Letter
    version: LetterVersion | None
    invite: Invite | None
    tokens: list[SignatureToken]
    listing_change: ListingChange | None
    events: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    published: bool
    # What erasure does here, said in the page (booleans, not rules, for the template).
    erase_removes_signature: bool
    erase_keeps_listing: bool


def _needles(signature: Signature, invite: Invite | None) -> list[str]:
    """The values that identify this person: their email, their name, and an individual's listed name."""
    found = [signature.contact_email, signature.signer_name]
    if signature.kind == "individual":
        found.append(signature.display_name)
    if invite is not None and invite.email:
        found.append(invite.email)
    return [v for v in dict.fromkeys(found) if v and v != ERASED_TEXT]


def _subjects(signature: Signature, invite: Invite | None) -> list[tuple[str, int]]:
    assert signature.id is not None
    found = [("signature", signature.id)]
    if invite is not None and invite.id is not None:
        found.append(("invite", invite.id))
    return found


def _erase_removes_signature(letter: Letter, signature: Signature) -> bool:
    return letter.status != "published" or signature.kind == "individual"


def signatory_data(*, session: Session, token: str) -> SignatoryData:
    """Everything held about the person behind a management link, on that letter (changes nothing)."""
    _row, signature, letter, _version = signature_tokens.get_by_token(session=session, token=token,
                                                                      purposes=("manage",))
    invite = session.get(Invite, signature.invite_id) if signature.invite_id else None
    tokens = list(session.exec(select(SignatureToken).where(SignatureToken.signature_id == signature.id)
                               .order_by(col(SignatureToken.id))))
    found = audit.events_mentioning(session=session, needles=_needles(signature, invite),
                                    subjects=_subjects(signature, invite))
    removes = _erase_removes_signature(letter, signature)
    return SignatoryData(
        signature=signature, letter=letter,
        version=session.get(LetterVersion, signature.version_id) if signature.version_id else None,
        invite=invite, tokens=tokens, events=_audit_events(session, found),
        listing_change=session.exec(select(ListingChange).where(ListingChange.signature_id == signature.id)).first(),
        emails=emails_to(session=session, address=signature.contact_email),
        published=letter.status == "published", erase_removes_signature=removes, erase_keeps_listing=not removes,
    )


def signatory_export(data: SignatoryData) -> dict[str, Any]:
    """The JSON download: every field held about the person on this letter."""
    return {
        "letter": {"title": data.letter.title, "slug": data.letter.slug, "status": data.letter.status},
        "signature": _record(data.signature, SIGNATURE_FIELDS),
        "version_approved": None if data.version is None else {
            "number": data.version.number, "content_hash": data.version.content_hash},
        "invite": None if data.invite is None else _record(data.invite, INVITE_FIELDS),
        "links": [_record(t, TOKEN_FIELDS) for t in data.tokens],
        "listing_change_waiting": None if data.listing_change is None else _record(data.listing_change,
                                                                                   LISTING_CHANGE_FIELDS),
        "emails": data.emails,
        "audit_events": data.events,
        "field_meanings": {"signature": SIGNATURE_FIELDS, "invite": INVITE_FIELDS, "links": TOKEN_FIELDS,
                           "listing_change_waiting": LISTING_CHANGE_FIELDS, "emails": OUTBOX_FIELDS},
    }


# Erasure -------------------------------------------------------------------------------------------------

def scrub_outbox(*, session: Session, needles: list[str], addresses: list[str]) -> int:
    """Deletes the mail addressed to these addresses and blanks these values in any other mail kept; returns
    how many rows changed."""
    changed = 0
    folded = [a.strip().lower() for a in addresses if a]
    if folded:
        result = session.execute(delete(OutboundEmail).where(func.lower(OutboundEmail.to_address).in_(folded)))
        changed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    needles = [n for n in needles if n and len(n.strip()) >= 3]
    if not needles:
        return changed
    conditions = []
    for needle in needles:
        pattern = f"%{needle.lower()}%"
        conditions += [func.lower(getattr(OutboundEmail, name)).like(pattern)
                       for name in ("subject", "text", "html", "reply_to", "last_error")]
    pattern_re = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)), re.IGNORECASE)
    for email in session.exec(select(OutboundEmail).where(or_(*conditions))):
        for name in ("subject", "text", "html", "reply_to", "last_error"):
            value = getattr(email, name)
            if value:
                setattr(email, name, pattern_re.sub(ERASED_TEXT, value))
        session.add(email)
        changed += 1
    return changed


def _drop_sent_letter_pdfs(*, session: Session, letter_id: int) -> int:
    """Deletes the copies of the letter PDF kept with mail already sent to its recipients (the PDF lists the
    signatories); returns how many. The mail itself went out: the outbox only kept a copy of what was sent."""
    sent = (select(Dispatch.outbound_email_id)
            .join(LetterRecipient, col(LetterRecipient.id) == col(Dispatch.letter_recipient_id))
            .join(OutboundEmail, col(OutboundEmail.id) == col(Dispatch.outbound_email_id))
            .where(col(LetterRecipient.letter_id) == letter_id).where(col(OutboundEmail.status) == "sent"))
    result = session.execute(delete(OutboundAttachment).where(col(OutboundAttachment.email_id).in_(sent)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget_public_copies(*, session: Session, settings: Settings, letter_id: int) -> None:
    """A new public revision of the letter (its pages are cached by it) and its built documents deleted, so the
    next request renders and builds them anew."""
    # PENDING (issue 18): the media folder from the caller; the erasures do not take settings yet.
    documents.discard(session=session, letter_id=letter_id, media_dir=Path(settings.media_dir))


@dataclass
class ErasureOutcome:
    letter: Letter
    kind: ErasureKind
    removed_signature: bool


def erase_signatory(*, session: Session, settings: Settings, token: str) -> ErasureOutcome:
    """A signatory's erasure through their management link (see `erase_signature`). The erasure request's own
    address is not recorded."""
    link = signature_tokens.get_by_token(session=session, token=token, purposes=("manage",))
    return erase_signature(session=session, settings=settings, signature=link.signature,
                           actor="signatory (erased)", reason="erasure requested by the signatory")


def erase_signature(*, session: Session, settings: Settings, signature: Signature, actor: str, reason: str,
                    actor_user_id: int | None = None, kind: ErasureKind | None = None) -> ErasureOutcome:
    """Erases the person behind a signature.

    Before publication (and for an individual at any time) the signature goes with all its personal data; after
    publication an organisation's listing stays (the coalition can withdraw it) and its signer's name, role and
    email go.
    """
    letter = session.get(Letter, signature.letter_id)
    assert letter is not None and signature.id is not None and letter.id is not None
    invite = session.get(Invite, signature.invite_id) if signature.invite_id else None
    published = letter.status == "published"
    removes = _erase_removes_signature(letter, signature)
    needles = _needles(signature, invite)
    found = audit.events_mentioning(session=session, needles=needles, subjects=_subjects(signature, invite))
    audit.erase_values(session=session, fields_by_event=found, actor=actor, actor_user_id=actor_user_id,
                       reason=reason)
    scrub_outbox(session=session, needles=needles,
                 addresses=[signature.contact_email] + ([invite.email] if invite else []))
    signature_id = signature.id
    name_was_public = published and signature.kind == "individual" and signature.status == "approved"
    if removes:
        done = ErasureKind.individual if published else ErasureKind.signature
        session.delete(signature)
        if invite is not None:
            session.delete(invite)
    else:
        done = ErasureKind.signer
        signature.signer_name = ""
        signature.signer_role = ""
        signature.contact_email = ""
        signature.email_key = f"erased:{signature_id}"
        signature.notify_updates = False
        session.add(signature)
        session.execute(delete(SignatureToken).where(col(SignatureToken.signature_id) == signature_id))
        if invite is not None:
            invite.email = ""
            session.add(invite)
    session.add(Erasure(letter_id=letter.id, kind=kind or done, name_was_public=name_was_public))
    session.flush()
    dropped = _drop_sent_letter_pdfs(session=session, letter_id=letter.id)
    audit.record(session=session, action="signature_erased", actor=actor, actor_user_id=actor_user_id,
                 subject_type="signature", subject_id=signature_id,
                 details={"letter_id": letter.id, "kind": done.value, "published": published,
                          "letter_pdfs_dropped": dropped})
    forget_public_copies(session=session, settings=settings, letter_id=letter.id)
    return ErasureOutcome(letter=letter, kind=done, removed_signature=removes)
