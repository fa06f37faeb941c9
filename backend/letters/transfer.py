"""Letters in and out as files: a stored letter read as a LetterFile and exported, a parsed file imported
(with its organisation, campaign, recipients and approved signatories), the example letters loaded."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.accounts import service as accounts
from backend.accounts.models import Organisation, User
from backend.campaigns import service as campaigns
from backend.campaigns.models import Campaign
from backend.clock import LONDON
from backend.commitments import files as commitment_files
from backend.db import as_utc, utcnow
from backend.errors import InvalidInput
from backend.letters import service as letters
from backend.letters.fileformat import (
    LetterFile,
    PressContactEntry,
    QuoteEntry,
    RecipientEntry,
    SignatoryEntry,
    dump,
    parse,
)
from backend.letters.fileyaml import LetterFileError
from backend.letters.models import Letter, PressContact, Quote, Recipient
from backend.signatures.enums import SignatureKind, SignatureStatus, SignatureVia
from backend.signatures.models import Signature
from backend.text import fold, skeleton

# Export ----------------------------------------------------------------------------------------------

def read_letter(*, session: Session, letter: Letter) -> LetterFile:
    """A stored letter as a LetterFile: its current text and its approved signatories (never their emails)."""
    version = letters.current_version(session=session, letter=letter)
    if version is None:
        raise InvalidInput("This letter has no text yet, so there is nothing to export.", field="body")
    campaign = session.get(Campaign, letter.campaign_id)
    lead = session.get(Organisation, campaign.lead_organisation_id) if campaign else None
    press = letters.get_press_contact(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    signatures = session.exec(
        select(Signature).where(Signature.letter_id == letter.id)
        .where(Signature.status == "approved")
        .order_by(col(Signature.display_order), col(Signature.id))
    ).all()
    embargo = as_utc(letter.embargo_at)
    return LetterFile(
        title=letter.title,
        slug=letter.slug,
        campaign=campaign.title if campaign else "",
        lead_organisation=lead.name if lead else "",
        recipients=[
            RecipientEntry(name=r.name, position=r.position, organisation=r.recipient_organisation,
                           email=r.email or "", reply_target_days=r.reply_target_days)
            for r in letters.get_recipients(session=session, letter_id=letter.id)  # type: ignore[arg-type]
        ],
        salutation=version.salutation,
        subject=version.subject,
        sign_off=version.sign_off,
        quotes=[QuoteEntry(person=q.person, role=q.role, organisation=q.organisation, text=q.text)
                for q in letters.get_quotes(session=session, letter_id=letter.id)],  # type: ignore[arg-type]
        press_contact=PressContactEntry(
            name=press.name, role=press.role, organisation=press.organisation, email=press.email,
            phone=press.phone, out_of_hours_phone=press.out_of_hours_phone,
        ) if press else None,
        notes_to_editors=letter.notes_to_editors or "",
        tags=letters.get_tags(session=session, letter_id=letter.id),  # type: ignore[arg-type]
        embargo=embargo.astimezone(LONDON) if embargo else None,
        signatories=[
            SignatoryEntry(name=s.display_name, signer_name=s.signer_name, kind=str(s.kind),
                           signer_role=s.signer_role, website=s.website or "")
            for s in signatures
        ],
        commitments=commitment_files.read(session=session, letter=letter),
        body=version.body,
    )


def export_letter(*, session: Session, letter: Letter) -> str:
    """The letter as a Markdown file with YAML front matter, in the canonical form."""
    return dump(read_letter(session=session, letter=letter))


# Import ----------------------------------------------------------------------------------------------

def _organisation(*, session: Session, name: str) -> Organisation:
    existing = session.exec(select(Organisation).where(Organisation.name == name).order_by(col(Organisation.id)))
    return existing.first() or accounts.create_organisation(session=session, name=name)


def _campaign(*, session: Session, lf: LetterFile, author: User | None, campaign_slug: str | None) -> Campaign:
    if campaign_slug:
        found = campaigns.get_by_slug(session=session, slug=campaign_slug)
        if found is None:
            raise LetterFileError(f"There is no campaign with the slug “{campaign_slug}”.", field="campaign", line=1)
        return found
    if not lf.lead_organisation.strip():
        raise LetterFileError("Name the lead organisation (or import with --campaign SLUG).",
                              field="lead_organisation", line=1)
    lead = _organisation(session=session, name=lf.lead_organisation)
    title = lf.campaign or lf.title
    campaign = session.exec(
        select(Campaign).where(Campaign.title == title).where(Campaign.lead_organisation_id == lead.id)
    ).first() or campaigns.create(session=session, title=title, lead_organisation=lead, created_by=author)
    if author is not None and campaigns.role_of(session=session, campaign_id=campaign.id,  # type: ignore[arg-type]
                                                user=author) is None:
        # Whoever imports a letter can work on it: their organisation joins the coalition as a lead.
        own = accounts.organisations_of(session=session, user_id=author.id)  # type: ignore[arg-type]
        if own:
            campaigns.add_member(session=session, campaign=campaign, organisation=own[0], role="lead")
        else:
            accounts.add_membership(session=session, user=author, organisation=lead, role="member")
    return campaign


def _recipient(*, session: Session, organisation_id: int, entry: RecipientEntry) -> Recipient:
    """The lead organisation's directory entry with the same name and position (the closest match when there
    are several), or a new one: the directory keeps one "Home Secretary", however many letters name her."""
    found = session.exec(
        select(Recipient).where(Recipient.organisation_id == organisation_id)
        .where(func.lower(Recipient.name) == entry.name.casefold())
        .where(func.lower(Recipient.position) == entry.position.casefold())
        .order_by(col(Recipient.id))
    ).all()
    if found:
        return max(found, key=lambda r: ((r.email or "") == entry.email,
                                         r.recipient_organisation == entry.organisation,
                                         r.reply_target_days == entry.reply_target_days))
    return Recipient(organisation_id=organisation_id, name=entry.name, position=entry.position,
                     recipient_organisation=entry.organisation, email=entry.email or None,
                     reply_target_days=entry.reply_target_days,
                     very_overdue_days=2 * entry.reply_target_days)


def import_letter(
    *, session: Session, letter_file: LetterFile, author: User | None, campaign_slug: str | None = None,
) -> Letter:
    """Creates the letter (and its organisation and campaign when needed) from a parsed file."""
    lf = letter_file
    if lf.slug and letters.get_by_slug(session=session, slug=lf.slug) is not None:
        raise LetterFileError(f"A letter with the slug “{lf.slug}” already exists.", field="slug",
                              line=lf.line_of("slug"))
    campaign = _campaign(session=session, lf=lf, author=author, campaign_slug=campaign_slug)
    try:
        letter = letters.create(session=session, campaign=campaign, title=lf.title, slug=lf.slug or None)
        version = letters.save_version(
            session=session, letter=letter, author_id=author.id if author else None, check_base=False,
            text=letters.LetterText(salutation=lf.salutation, subject=lf.subject, body=lf.body,
                                    sign_off=lf.sign_off),
        )
        assert version is not None
        letters.set_recipients(session=session, letter=letter, recipients=[
            _recipient(session=session, organisation_id=campaign.lead_organisation_id, entry=r)
            for r in lf.recipients
        ])
        letters.set_quotes(session=session, letter=letter, quotes=[
            Quote(letter_id=letter.id, person=q.person, role=q.role,  # type: ignore[arg-type]
                  organisation=q.organisation, text=q.text)
            for q in lf.quotes
        ])
        if lf.press_contact is not None:
            letters.set_press_contact(session=session, letter=letter,
                                      contact=PressContact(letter_id=letter.id,  # type: ignore[arg-type]
                                                           **lf.press_contact.__dict__))
    except InvalidInput as exc:
        where = exc.field or "file"
        raise LetterFileError(exc.message, field=where, line=lf.line_of(where)) from None
    letters.set_tags(session=session, letter=letter, tags=lf.tags)
    letter.notes_to_editors = lf.notes_to_editors
    letter.embargo_at = lf.embargo.astimezone(UTC) if lf.embargo else None
    session.add(letter)
    now = utcnow()
    for order, s in enumerate(lf.signatories, start=1):
        session.add(Signature(
            letter_id=letter.id,  # type: ignore[arg-type]
            version_id=version.id,
            content_hash=version.content_hash,
            kind=SignatureKind(s.kind),
            display_name=s.name,
            name_key=fold(s.name),
            skeleton=skeleton(s.name),
            signer_name=s.signer_name,
            signer_role=s.signer_role,
            contact_email="",
            # No address is known for an imported signatory; the key only has to be unique per letter.
            email_key=f"imported-{order}@invalid",
            website=s.website or None,
            status=SignatureStatus.approved,
            via=SignatureVia.import_,
            display_order=order,
            confirmed_at=now,
            approved_at=now,
        ))
    session.flush()
    if lf.commitments:
        commitment_files.store(session=session, letter=letter, entries=lf.commitments,
                               author_id=author.id if author else None)
    return letter


def load_examples(*, session: Session, directory: Path, author: User | None) -> int:
    """Imports every *.md in the folder whose letter is not there yet; returns how many were imported."""
    loaded = 0
    for path in sorted(Path(directory).glob("*.md")):
        lf = parse(path.read_text(encoding="utf-8"))
        lf.slug = lf.slug or accounts.slugify(path.stem)
        if letters.get_by_slug(session=session, slug=lf.slug) is not None:
            continue
        import_letter(session=session, letter_file=lf, author=author)
        loaded += 1
    return loaded


def notes_on_import(letter_file: LetterFile) -> list[str]:
    """Where importing a file differs from the web form, said on import rather than left to be found out."""
    notes = []
    if letter_file.embargo is not None and letter_file.embargo <= utcnow():
        notes.append(f"{letter_file.line_of('embargo')}: embargo: it is in the past. Kept as the record of the "
                     "letter (a file may describe a letter already published); the web form only takes a future "
                     "embargo, and the letter cannot be scheduled at this one: move it on the publish page.")
    return notes

