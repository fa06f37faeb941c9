"""Who signed is who they say: look-alike names, the domain of the confirming address, and changes of an
approved listing held for the lead.

- A name's *skeleton* (`backend.text.skeleton`) follows Unicode TS #39, so "Amnesty" with a Cyrillic A,
  "Amnesty lnternational" and "AMNESTY INTERNATIONAL" share one skeleton. Signatures and organisations store
  theirs in an indexed column: a sign-on looks up its look-alikes by it.
- A signature whose confirming address is at the organisation's own registrable domain (the Public Suffix
  List, bundled with `publicsuffixlist`) is "confirmed by an address at cja.org.uk".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.accounts.models import Organisation
from backend.db import as_utc
from backend.signatures.models import ListingChange, Signature
from backend.text import fold, skeleton


def _day(at: datetime | None) -> str:
    aware = as_utc(at)
    return f"{aware.day} {aware:%B}" if aware else ""


def look_alike(*, session: Session, letter_id: int | None, name: str, name_key: str,
               exclude_signature_id: int | None = None) -> str | None:
    """Why a new name must be held for a person ("looks like Amnesty International, signed 3 May"), or None.

    It is held when it reads like, but is not, the name of another signatory of this letter, of an
    organisation that signed another letter here, or of an organisation with an account on this instance.
    """

    shape = skeleton(name)
    if not shape:
        return None
    connection = session.connection()  # Core, not the ORM's execution: plain columns, asked on every sign-on
    other = connection.execute(_SAME_SHAPE, {"shape": shape, "name_key": name_key, "letter_id": letter_id,
                                             "exclude": exclude_signature_id or 0}).first()
    if other is not None:
        when = _day(other.approved_at or other.confirmed_at or other.created_at)
        where = "" if other.letter_id == letter_id else " another letter"
        return f"looks like {other.display_name}, signed{where} {when}".strip()
    for (organisation,) in connection.execute(_ORGANISATIONS_OF_SHAPE, {"shape": shape}):
        if fold(organisation) != name_key:
            return f"looks like {organisation}, an organisation with an account here"
    return None


# Built once (every organisation's sign-on asks): the columns the message needs, this letter's signatures first.
_SAME_SHAPE = (
    sa_select(col(Signature.display_name), col(Signature.letter_id), col(Signature.approved_at),
              col(Signature.confirmed_at), col(Signature.created_at))
    .where(col(Signature.skeleton) == bindparam("shape")).where(col(Signature.name_key) != bindparam("name_key"))
    .where(col(Signature.status).in_(("confirmed", "approved", "needs_reconfirmation", "pending")))
    .where(col(Signature.id) != bindparam("exclude"))  # 0 when no signature is left out: ids start at 1
    .order_by(col(Signature.letter_id) != bindparam("letter_id"), col(Signature.id)).limit(1)
)
# The same name (folded) is not a look-alike: a few rows are enough to find one that is not.
_ORGANISATIONS_OF_SHAPE = (sa_select(col(Organisation.name)).where(col(Organisation.skeleton) == bindparam("shape"))
                           .order_by(col(Organisation.id)).limit(10))


# Verified by email domain ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _suffixes() -> object:
    from publicsuffixlist import PublicSuffixList  # deliberate: the suffix list is parsed on first use

    return PublicSuffixList()


def registrable_domain(host: str | None) -> str | None:
    """"cja.org.uk" for "www.cja.org.uk" (the Public Suffix List's registrable domain), or None."""
    host = (host or "").strip().rstrip(".").casefold()
    if not host or "." not in host:
        return None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    domain = _suffixes().privatesuffix(host)  # type: ignore[attr-defined]
    return str(domain) if domain else None


def confirmed_domain(*, email: str, website: str | None) -> str | None:
    """The organisation's registrable domain when the confirming address belongs to it, else None."""
    if not website or "@" not in (email or ""):
        return None
    site = registrable_domain(urlsplit(website).hostname)
    mail = registrable_domain(email.rsplit("@", 1)[1])
    return site if site is not None and site == mail else None


def confirmation_line(signature: Signature) -> str:
    """What the public page, the API and the CSV say about how a signature was confirmed."""
    if signature.confirmed_domain:
        return f"confirmed by an address at {signature.confirmed_domain}"
    if signature.via == "import":
        return "imported"
    return "confirmed by email"


# Changes of an approved listing ---------------------------------------------------------------------------

@dataclass
class Difference:
    label: str
    before: str
    after: str


@dataclass
class HeldChange:
    signature: Signature
    change: ListingChange
    differences: list[Difference]


def pending_change(*, session: Session, signature_id: int | None) -> ListingChange | None:
    return session.exec(select(ListingChange).where(ListingChange.signature_id == signature_id)).first()


def differences(signature: Signature, change: ListingChange) -> list[Difference]:
    """What the change would alter, field by field."""
    out = []
    for label, before, after in (("Name", signature.display_name, change.display_name),
                                 ("Website", signature.website or "", change.website or ""),
                                 ("Kind", signature.kind, change.kind)):
        if before != after:
            out.append(Difference(label=label, before=before, after=after))
    return out


def held_changes(*, session: Session, letter_id: int | None) -> list[HeldChange]:
    """The changes of this letter's listings waiting for the lead, oldest first."""
    rows = session.exec(select(ListingChange, Signature)
                        .join(Signature, col(Signature.id) == ListingChange.signature_id)
                        .where(Signature.letter_id == letter_id)
                        .where(col(Signature.status).in_(("pending", "confirmed", "approved", "needs_reconfirmation")))
                        .order_by(col(ListingChange.created_at))).all()
    return [HeldChange(signature=s, change=c, differences=differences(s, c)) for c, s in rows]
