"""Emailed links of a signature (confirm, reconfirm, manage): issued as hashes, checked, spent once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from backend.db import as_utc, insert_rows, utcnow
from backend.errors import TokenInvalid
from backend.letters.models import Letter, LetterVersion
from backend.security import hash_token, new_token
from backend.signatures.models import Signature, SignatureToken


def issue_tokens(*, session: Session, signature_ids: list[int], purpose: str, days: int) -> list[str]:
    """New emailed-link tokens, one per signature, stored only as their hashes; the raw tokens, in order."""
    tokens = [new_token() for _ in signature_ids]
    expires_at = utcnow() + timedelta(days=days)
    insert_rows(session, SignatureToken, [
        {"signature_id": sid, "purpose": purpose, "token_hash": hash_token(token), "expires_at": expires_at}
        for sid, token in zip(signature_ids, tokens, strict=True)])
    return tokens


def issue_token(*, session: Session, signature_id: int, purpose: str, days: int) -> str:
    return issue_tokens(session=session, signature_ids=[signature_id], purpose=purpose, days=days)[0]


# Every emailed link is read with this one statement, built once: the token, its signature, and the signature's
# letter with its current text, which every reader of a link needs next.
_BY_HASH = (select(SignatureToken, Signature, Letter, LetterVersion)
            .outerjoin(Signature, col(Signature.id) == SignatureToken.signature_id)
            .outerjoin(Letter, col(Letter.id) == Signature.letter_id)
            .outerjoin(LetterVersion, col(LetterVersion.id) == Letter.current_version_id)
            .where(col(SignatureToken.token_hash) == bindparam("token_hash")))


class Link(NamedTuple):
    """An emailed link that is valid: its token row, its signature, the signature's letter and its current text."""

    token: SignatureToken
    signature: Signature
    letter: Letter
    version: LetterVersion | None


def get_by_token(*, session: Session, token: str, purposes: tuple[str, ...]) -> Link:
    """The link if it is valid for one of these purposes (changes nothing), read in one statement."""
    found = session.execute(_BY_HASH, {"token_hash": hash_token(token or "")}).first()
    row, signature, letter, version = found if found is not None else (None, None, None, None)
    check(purpose=row.purpose if row is not None else None, used_at=row.used_at if row is not None else None,
          expires_at=row.expires_at if row is not None else None, purposes=purposes)
    if signature is None or letter is None:
        raise TokenInvalid("This link is not valid any more.")
    assert row is not None
    return Link(row, signature, letter, version)


def check(*, purpose: str | None, used_at: datetime | None, expires_at: datetime | None,
          purposes: tuple[str, ...]) -> None:
    """TokenInvalid unless a link read (None if none has this hash) is for one of these purposes, unused and not
    expired: the one rule of a valid link, whichever way it was read."""
    if purpose is None or purpose not in purposes:
        raise TokenInvalid("This link is not valid. Check you copied the whole link from the email.")
    if used_at is not None:
        raise TokenInvalid("This link has already been used. Each confirmation link works once.")
    expires = as_utc(expires_at)
    assert expires is not None
    if utcnow() >= expires:
        raise TokenInvalid("This link has expired. Sign again from the letter's signing page or invite link, "
                           "or ask the coalition for help.")


# Built once; a Core UPDATE on the session's connection that leaves the session's objects alone (the spent row is
# not read again), without the ORM's bulk-update machinery around it.
_tokens = SignatureToken.__table__  # type: ignore[attr-defined]
_SPEND = (update(_tokens).where(_tokens.c.id == bindparam("token_id"))
          .where(_tokens.c.used_at.is_(None)).values(used_at=bindparam("used_at")))


def spend(*, session: Session, token_id: int | None) -> None:
    """Marks the link used, once: a second spend (a double click, a race) is refused."""
    result = session.connection().execute(_SPEND, {"token_id": token_id, "used_at": utcnow()})
    if result.rowcount != 1:
        raise TokenInvalid("This link has already been used. Each confirmation link works once.")
