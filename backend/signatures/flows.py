"""What happens across domains when a signatory answers: the lead hears of a decline."""

from __future__ import annotations

from sqlmodel import Session

from backend.letters.models import Letter
from backend.mail import service as mail
from backend.responses.tracking import lead_emails
from backend.signatures import signing
from backend.signatures.models import Invite, Signature


def decline(*, session: Session, invite: Invite, reason: str, ip: str | None) -> Signature:
    """Records the decline and emails the lead organisation's staff (the decline page says they are told)."""
    signature = signing.decline(session=session, invite=invite, reason=reason, ip=ip)
    letter = session.get(Letter, signature.letter_id)
    assert letter is not None
    for address in lead_emails(session=session, letter=letter):
        mail.enqueue(session=session, to=address, template="invite_declined",
                     context={"letter": letter, "signature": signature},
                     dedupe_key=f"invite-declined:{signature.id}:{address}")
    return signature
