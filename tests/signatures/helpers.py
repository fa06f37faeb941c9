"""Shared helpers for the signature tests: a letter open for signatures, links from emails, the signing form."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import col, select

from tests import factories


@dataclass
class Setup:
    lead: Any
    letter: Any
    campaign: Any


def open_letter(db: Any, make_user: Any, *, title: str = "Protect the right to protest",
                body: str = factories.TEXT.body, **settings: Any) -> Setup:
    """A lead user, a campaign and a letter with version 1, open for signatures (`settings`: letter fields)."""
    made = factories.coalition(db, make_user, title=title, text=replace(factories.TEXT, body=body), status="open",
                               **settings)
    return Setup(lead=made.lead, letter=made.letter, campaign=made.campaign)


def a_signature(db: Any, letter: Any, *, name: str, email: str, status: str, **fields: Any) -> Any:
    """An open sign-on's signature on the letter's current text, stored as it is (no service, no email)."""
    from backend.db import utcnow
    from backend.signatures.models import Signature

    signature = Signature(letter_id=letter.id, version_id=letter.current_version_id, kind="organisation",
                          display_name=name, name_key=name.casefold(), signer_name=fields.pop("signer_name", "Sam"),
                          contact_email=email, email_key=email, status=status, via="open",
                          created_at=utcnow(), **fields)
    db.add(signature)
    db.flush()
    return signature


def link_in(mail: Any, path: str) -> str:
    """The path of the first link in an email that contains `path`."""
    found = [link for link in mail.links() if path in link]
    assert found, f"no {path} link in: {mail.text}"
    return re.sub(r"^https?://[^/]+", "", found[0])


def sign_data(version_id: int, **overrides: Any) -> dict[str, Any]:
    data = {"kind": "organisation", "display_name": "Friends of the Park", "signer_name": "Sam Signer",
            "signer_role": "Director", "contact_email": "sam@friends.example", "website": "https://friends.example",
            "attested": "yes", "version_id": str(version_id)}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def signatures(db: Any) -> list[Any]:
    from backend.signatures.models import Signature

    db.rollback()
    db.expire_all()
    return list(db.exec(select(Signature).order_by(col(Signature.id))))


def invites(db: Any) -> list[Any]:
    from backend.signatures.models import Invite

    db.rollback()
    db.expire_all()
    return list(db.exec(select(Invite).order_by(col(Invite.id))))


def audit_actions(db: Any) -> list[str]:
    from backend.audit.models import AuditEvent

    db.rollback()
    db.expire_all()
    return list(db.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))))


def outbox(db: Any, template: str | None = None) -> list[Any]:
    from backend.mail.models import OutboundEmail

    db.rollback()
    db.expire_all()
    stmt = select(OutboundEmail).order_by(col(OutboundEmail.id))
    if template:
        stmt = stmt.where(OutboundEmail.template == template)
    return list(db.exec(stmt))


def invite_one(client: Any, post: Any, login: Any, setup: Setup, lines: str) -> Any:
    login(client, setup.lead)
    url = f"/letters/{setup.letter.slug}/signatories"
    return post(client, url + "/invites", {"invites": lines}, page=url)


def shared_renders(monkeypatch: Any) -> list[str]:
    """The names of the pages rendered for every anonymous visitor (`web.render_shared`) from now on, in order."""
    from backend import web
    from backend.signatures import routes

    renders: list[str] = []
    render_shared = web.render_shared

    def counted(request: Any, name: str, context: dict[str, Any]) -> bytes:
        renders.append(name)
        return render_shared(request, name, context)

    monkeypatch.setattr(routes.web, "render_shared", counted)
    return renders
