"""Shared helpers for the publishing tests: a letter ready to publish, with signatories, quotes and a contact."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from PIL import Image

from tests import factories

BODY = "We write to ask you to **protect** the right to protest.\n\nIt matters to everyone."

SIGNATORIES = [
    ("organisation", "Friends of the Park", "Sam Signer", "Director", "https://friends.example"),
    ("organisation", '=HYPERLINK("http://x")', "Eve Evil", "Chair", None),
    ("organisation", "Zebra Crossing Trust", "Zoe Zed", "Chief Executive", None),
    ("individual", "Ivy Individual", "Ivy Individual", "Campaigner", None),
]


@dataclass
class Ready:
    lead: Any
    letter: Any
    signatures: list[Any]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def ready_letter(db: Any, make_user: Any, *, embargo_in: timedelta | None = None, status: str = "closed",
                 with_logo: bool = True) -> Ready:
    """A closed letter with a recipient, four approved signatories, two quotes, a press contact and notes."""
    from backend.config import get_settings
    from backend.db import utcnow
    from backend.letters import service as letters
    from backend.letters.models import PressContact, Quote
    from backend.signatures import logos
    from backend.signatures.models import Signature

    made = factories.coalition(db, make_user, recipients=[factories.home_secretary()], commit=False,
                               text=replace(factories.TEXT, body=BODY))
    lead, letter, version = made.lead, made.letter, made.version
    letters.set_quotes(session=db, letter=letter, quotes=[
        Quote(letter_id=0, person="Amira Khan", role="Director", organisation="Lead Charity",
              text="Protest is a right."),
        Quote(letter_id=0, person="Tom Brown", role="Chair", organisation="Friends of the Park",
              text="We stand together."),
    ])
    letters.set_press_contact(session=db, letter=letter, contact=PressContact(
        letter_id=0, name="Pat Press", role="Media officer", organisation="Lead Charity", email="press@lead.example",
        phone="020 7946 0000", out_of_hours_phone="07700 900000"))
    letters.set_tags(session=db, letter=letter, tags=["civil liberties"])
    letter.notes_to_editors = "Lead Charity is a registered charity (no. 123456)."
    letter.status = status
    if embargo_in is not None:
        letter.embargo_at = utcnow() + embargo_in
    db.add(letter)
    db.flush()
    letter_id: Any = letter.id
    made = []
    for order, (kind, name, signer, role, website) in enumerate(SIGNATORIES):
        key = name.casefold()
        email = f"signer{order}@sig.example"
        made.append(Signature(
            letter_id=letter_id, version_id=version.id, content_hash=version.content_hash, kind=kind,
            display_name=name, name_key=key, signer_name=signer, signer_role=role, contact_email=email,
            email_key=email, website=website, status="approved", display_order=order,
            confirmed_at=utcnow(), approved_at=utcnow(),
            logo_path=logos.store(png(), media_dir=get_settings().media_dir) if with_logo and order == 0
            else None))
    # One that is not approved: never published.
    made.append(Signature(letter_id=letter_id, version_id=version.id, kind="organisation", display_name="Pending Org",
                          name_key="pending org", signer_name="Pam", contact_email="pam@pending.example",
                          email_key="pam@pending.example", status="pending"))
    for s in made:
        db.add(s)
    db.commit()
    db.refresh(letter)
    return Ready(lead=lead, letter=letter, signatures=made[:4])


def public_paths(slug: str, signature_id: int) -> list[str]:
    """Every public route of one letter."""
    return [
        f"/letters/{slug}",
        f"/letters/{slug}/press-pack.zip",
        f"/letters/{slug}/press/letter.pdf",
        f"/letters/{slug}/press/letter.docx",
        f"/letters/{slug}/press/press-release.pdf",
        f"/letters/{slug}/press/press-release.docx",
        f"/letters/{slug}/press/signatories.csv",
        f"/letters/{slug}/press/README.txt",
        f"/letters/{slug}/press/logos/001-friends-of-the-park.png",
        f"/letters/{slug}/logos/{signature_id}.png",
        f"/letters/{slug}/share.png",
        f"/api/v1/letters/{slug}",
        f"/api/v1/letters/{slug}/signatories",
        f"/api/v1/letters/{slug}/responses",
        f"/api/v1/letters/{slug}/commitments",
        f"/api/v1/letters/{slug}/count",
    ]


def build_documents(engine: Any) -> int:
    """What a worker does for a waiting download, run here and now: every press pack queued is built (the wait
    that gathers a burst of changes skipped, as a download asks). Returns how many were built."""
    from sqlalchemy import update

    from backend.config import get_settings
    from backend.db import session_for_write, utcnow
    from backend.publishing import documents
    from backend.publishing.models import DocumentBuild

    with session_for_write(engine) as session:
        session.execute(update(DocumentBuild).where(DocumentBuild.status == "queued")
                        .where(DocumentBuild.last_error == "").values(not_before=utcnow()))
        session.commit()
    return documents.build_due(engine, get_settings())  # the tests' settings (tests/conftest.py)


def build_staff_pdf(engine: Any, letter_id: int) -> int:
    """What happens when a coalition member asks for `/letters/{slug}/pdf` and a worker answers, run here and now:
    the letter's PDF as it stands is asked for and built (and served from then on while nothing in it changes).
    Returns how many were built."""
    from backend.config import get_settings
    from backend.db import session_for_write
    from backend.letters.models import Letter
    from backend.publishing import documents, revision

    with session_for_write(engine) as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        revision.queue(session=session, letter_id=letter_id, kind="staff", revision=letter.public_revision, delay=0)
        session.commit()
    return documents.build_due(engine, get_settings())
