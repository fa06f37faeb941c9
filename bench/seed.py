"""Realistic data, loaded through the app's own services: a published letter with organisations (with logos),
individuals, quotes, a press contact and two responses; and a second letter open for signatures.

Import this only after the environment (DATABASE_URL, MEDIA_DIR, ...) is set: the app reads it once.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, text, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

BODY = """We write as {n} organisations and many more people who work with children and families across the \
country, to ask you to protect the right to protest.

Peaceful protest is how charities, faith groups and neighbours have always raised their voices: for clean air \
outside schools, for safe routes to parks, for decent homes. The proposals now before Parliament would let the \
police stop a protest because it is **noisy**, or because it might cause *serious disruption* to a single person.

Those tests are so broad that almost any public gathering could fail them. Our members tell us they are already \
unsure whether a vigil, a march or a petition hand-in would be lawful.

We therefore ask you to:

- withdraw the new noise and disruption conditions;
- publish the evidence on which the proposals were based; and
- meet the signatories of this letter before the Bill returns to the Commons.

A right that depends on being quiet is not a right. We would welcome the chance to discuss this with you."""

QUOTES = [
    ("Amira Khan", "Director", "Lead Charity", "Protest is how ordinary people are heard between elections."),
    ("Tom Brown", "Chair", "Friends of the Park", "We marched for our park; these rules would have stopped us."),
    ("Grace Obi", "Chief Executive", "Young Voices", "Young people deserve to be heard, not moved on."),
]


@dataclass
class Seeded:
    lead_id: int
    published_slug: str
    published_id: int
    open_slug: str
    open_id: int
    open_version_id: int
    organisations: int
    individuals: int


def make_engine() -> Engine:
    from backend.config import get_settings
    from backend.db import make_engine as app_engine

    return app_engine(get_settings().database_url)


def create_database(base_url: str) -> tuple[str, Any]:
    """A fresh PostgreSQL database next to `base_url`; returns its URL and a function that drops it."""
    name = f"undersigned_bench_{secrets.token_hex(4)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def migrate() -> None:
    from backend.config import get_settings
    from backend.migrations import upgrade

    upgrade(get_settings().database_url)


def logo_png(n: int) -> bytes:
    """A distinct small logo (200 x 80) for organisation n."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (200, 80), ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 190, 70), outline=(255, 255, 255), width=3)
    draw.text((20, 30), f"Charity {n}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _letter(session: Session, *, campaign: Any, lead: Any, title: str, organisations: int) -> tuple[Any, Any]:
    from backend.letters import service as letters
    from backend.letters.models import PressContact, Quote, Recipient
    from backend.letters.service import LetterText

    letter = letters.create(session=session, campaign=campaign, title=title)
    version = letters.save_version(
        session=session, letter=letter, author_id=lead.id, check_base=False,
        text=LetterText(salutation="Dear Home Secretary,", subject="Protect the right to protest",
                        body=BODY.format(n=organisations), sign_off="Yours sincerely,"))
    letters.set_recipients(session=session, letter=letter, recipients=[
        Recipient(name="Rt Hon Jane Doe MP", position="Secretary of State for the Home Department",
                  recipient_organisation="Home Office", email="private.office@homeoffice.bench"),
        Recipient(name="Rt Hon John Roe MP", position="Secretary of State for Justice",
                  recipient_organisation="Ministry of Justice", email="private.office@justice.bench"),
    ])
    letters.set_quotes(session=session, letter=letter, quotes=[
        Quote(letter_id=0, person=p, role=r, organisation=o, text=t) for p, r, o, t in QUOTES])
    letters.set_press_contact(session=session, letter=letter, contact=PressContact(
        letter_id=0, name="Pat Press", role="Media officer", organisation="Lead Charity",
        email="press@lead.bench", phone="020 7946 0000", out_of_hours_phone="07700 900000"))
    letters.set_tags(session=session, letter=letter, tags=["civil liberties", "protest"])
    letter.notes_to_editors = ("Lead Charity is a registered charity (no. 123456).\n\n"
                               "The full list of signatories is in the press pack.")
    letter.allow_individuals = True
    return letter, version


def seed(*, engine: Engine, organisations: int, individuals: int) -> Seeded:
    """Loads the letters; the mail this causes (publication, replies) is marked captured, not left queued."""
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns
    from backend.config import get_settings
    from backend.db import utcnow
    from backend.letters.models import LetterRecipient
    from backend.mail.models import OutboundEmail
    from backend.publishing import service as publishing
    from backend.responses import dispatch, replies, tracking
    from backend.signatures import logos
    from backend.signatures.enums import SignatureKind, SignatureStatus, SignatureVia
    from backend.signatures.models import Signature

    with Session(engine, expire_on_commit=False) as session:
        lead = accounts.create_user(session=session, email="lead@lead.bench", name="Lena Lead",
                                    password="bench-password-" + secrets.token_hex(8), verified=True)
        org = accounts.create_organisation(session=session, name="Lead Charity")
        accounts.add_membership(session=session, user=lead, organisation=org, role="admin")
        campaign = campaigns.create(session=session, title="Right to protest", lead_organisation=org,
                                    created_by=lead)
        letter, version = _letter(session, campaign=campaign, lead=lead, title="Protect the right to protest",
                                  organisations=organisations)
        letter.status = "open"
        session.add(letter)
        session.flush()
        now = utcnow()
        media_dir = get_settings().media_dir
        for n in range(organisations):
            name = f"Charity number {n + 1} for Children and Families"
            session.add(Signature(
                letter_id=letter.id, version_id=version.id, content_hash=version.content_hash,
                kind=SignatureKind.organisation,
                display_name=name, name_key=name.casefold(), signer_name=f"Director {n + 1}",
                signer_role="Chief Executive", contact_email=f"ceo{n}@org{n}.bench", email_key=f"ceo{n}@org{n}.bench",
                website=f"https://org{n}.bench", logo_path=logos.store(logos.clean(logo_png(n)), media_dir=media_dir),
                status=SignatureStatus.approved,
                via=SignatureVia.invite, display_order=n, attested_at=now, confirmed_at=now, approved_at=now))
        for n in range(individuals):
            name = f"Person {n + 1} Smith"
            session.add(Signature(
                letter_id=letter.id, version_id=version.id, content_hash=version.content_hash,
                kind=SignatureKind.individual,
                display_name=name, name_key=name.casefold(), signer_name=name, signer_role="Parent and volunteer",
                contact_email=f"p{n}@people.bench", email_key=f"p{n}@people.bench", city="Leeds",
                status=SignatureStatus.approved,
                via=SignatureVia.open, display_order=n, attested_at=now, confirmed_at=now, approved_at=now))
        session.commit()

        # Sent by post ten days ago, then two replies recorded, then published.
        links = session.exec(select(LetterRecipient).where(LetterRecipient.letter_id == letter.id)
                             .order_by(col(LetterRecipient.position))).all()
        sent_on = tracking.today() - timedelta(days=10)
        dispatch.send(session=session, letter=letter, user=lead, settings=get_settings(), choices=[
            dispatch.SendChoice(link.id, "post", sent_on=sent_on) for link in links if link.id is not None])
        answers = [("acknowledgement", "The Home Office acknowledged the letter."),
                   ("substantive_reply", "The Minister replied that the proposals strike the right balance.")]
        for link, (kind, summary) in zip(links, answers, strict=False):
            assert link.id is not None
            replies.record_response(
                session=session, letter=letter, letter_recipient_id=link.id, user=lead, settings=get_settings(),
                data=replies.ResponseInput(received_on=tracking.today(), kind=kind, summary=summary,
                                             body=summary + "\n\nWe will consider the points you raise."))
        session.commit()
        publishing.publish(session=session, letter=letter, user=lead, ip=None)
        session.commit()

        open_letter, open_version = _letter(session, campaign=campaign, lead=lead,
                                            title="Fund youth services now", organisations=organisations)
        open_letter.status = "open"
        open_letter.open_signon_enabled = True
        open_letter.moderate_open_signons = False
        session.add(open_letter)
        session.commit()

        session.execute(update(OutboundEmail).where(col(OutboundEmail.status) == "queued")
                        .values(status="sent", sent_at=utcnow(), transport="capture"))
        session.commit()
        assert letter.id is not None and open_letter.id is not None and open_version.id is not None
        assert lead.id is not None
        return Seeded(lead_id=lead.id, published_slug=letter.slug, published_id=letter.id,
                      open_slug=open_letter.slug, open_id=open_letter.id, open_version_id=open_version.id,
                      organisations=organisations, individuals=individuals)


def queue_invites(*, engine: Engine, seeded: Seeded, count: int, domain: str) -> None:
    """Invites `count` organisations to the open letter through the coalition's own service (in batches)."""
    from backend.accounts.models import User
    from backend.config import get_settings
    from backend.db import session_for_write
    from backend.letters.models import Letter
    from backend.signatures import csvio
    from backend.signatures import invites as signatures

    with session_for_write(engine) as session:  # as the app's POST: BEGIN IMMEDIATE on SQLite
        lead = session.get(User, seeded.lead_id)
        letter = session.get(Letter, seeded.open_id)
        assert lead is not None and letter is not None
        for start in range(0, count, csvio.MAX_INVITE_ROWS):
            end = min(count, start + csvio.MAX_INVITE_ROWS)
            rows = [f"Invited Charity {n}, invitee{n}@{domain}" for n in range(start, end)]
            signatures.create_invites(session=session, settings=get_settings(), letter=letter, text="\n".join(rows),
                                      user=lead, ip=None)
            session.commit()
