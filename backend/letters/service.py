"""Letters and their versions: every save of the text is an immutable LetterVersion with a content hash."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func
from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.accounts.service import normalise_email, slugify, unique_slug
from backend.campaigns.models import Campaign
from backend.clock import LONDON
from backend.db import as_utc, utcnow
from backend.errors import Conflict, InvalidInput, NotFound
from backend.letters.models import (
    Letter,
    LetterRecipient,
    LetterTag,
    LetterVersion,
    PressContact,
    Quote,
    Recipient,
)
from backend.letters.policy import text_editable
from backend.publishing import revision

MAX_BODY = 200_000  # characters: a long letter is ~10,000


@dataclass(frozen=True)
class LetterText:
    """The parts of a letter that are versioned and hashed."""

    salutation: str
    subject: str
    body: str
    sign_off: str

    def normalised(self) -> LetterText:
        return LetterText(
            salutation=self.salutation.strip(),
            subject=" ".join(self.subject.split()),
            body=self.body.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n",
            sign_off=self.sign_off.strip(),
        )


def content_hash(text: LetterText) -> str:
    """SHA-256 of the canonical text: what a signatory approves, and what their receipt names."""
    t = text.normalised()
    canonical = json.dumps(
        {"salutation": t.salutation, "subject": t.subject, "body": t.body, "sign_off": t.sign_off},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def validate_text(text: LetterText) -> LetterText:
    t = text.normalised()
    if not t.subject:
        raise InvalidInput("Enter a subject line.", field="subject")
    if len(t.subject) > 300:
        raise InvalidInput("The subject line is too long (300 characters at most).", field="subject")
    if not t.salutation:
        raise InvalidInput("Enter a salutation, such as “Dear Home Secretary,”.", field="salutation")
    if len(t.salutation) > 300:
        raise InvalidInput("The salutation is too long (300 characters at most).", field="salutation")
    if not t.body.strip():
        raise InvalidInput("Write the body of the letter.", field="body")
    if len(t.body) > MAX_BODY:
        raise InvalidInput(
            f"The body is too long ({len(t.body):,} characters; {MAX_BODY:,} at most).", field="body"
        )
    if not t.sign_off:
        raise InvalidInput("Enter a sign-off, such as “Yours sincerely,”.", field="sign_off")
    if len(t.sign_off) > 200:
        raise InvalidInput("The sign-off is too long (200 characters at most).", field="sign_off")
    return t


def get(*, session: Session, letter_id: int) -> Letter | None:
    """Gets a letter by id."""
    return session.get(Letter, letter_id)


_BY_SLUG = select(Letter).where(col(Letter.slug) == bindparam("slug"))  # built once: every letter page reads it


def get_by_slug(*, session: Session, slug: str) -> Letter | None:
    """Gets a letter by slug."""
    return session.exec(_BY_SLUG, params={"slug": slug}).first()


def get_for_campaign(*, session: Session, campaign_id: int) -> list[Letter]:
    stmt = select(Letter).where(Letter.campaign_id == campaign_id).order_by(col(Letter.created_at))
    return list(session.exec(stmt))


def create(*, session: Session, campaign: Campaign, title: str, slug: str | None = None) -> Letter:
    """Creates a draft letter (no text yet: the first save makes version 1)."""
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("Enter a title for the letter.", field="title")
    if len(title) > 200:
        raise InvalidInput("The title is too long (200 characters at most).", field="title")
    letter = Letter(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        title=title,
        slug=unique_slug(session=session, model=Letter, base=slug or slugify(title)),
    )
    session.add(letter)
    session.flush()
    return letter


def current_version(*, session: Session, letter: Letter) -> LetterVersion | None:
    return session.get(LetterVersion, letter.current_version_id) if letter.current_version_id else None


def save_version(
    *, session: Session, letter: Letter, text: LetterText, author_id: int | None,
    base_version_id: int | None = None, check_base: bool = True,
) -> LetterVersion | None:
    """Saves the text as a new version; returns None when nothing changed.

    `base_version_id` is the version the editor started from: if another editor saved since, Conflict is
    raised so nobody's edit is silently overwritten.
    """
    t = validate_text(text)
    digest = content_hash(t)
    # Lock the letter row so two saves cannot both take the same version number.
    locked = session.exec(select(Letter).where(Letter.id == letter.id).with_for_update()).one()
    if check_base and locked.current_version_id != base_version_id:
        raise Conflict(
            "Someone else saved a new version of this letter while you were editing. "
            "Your text is kept below: compare it with the latest version and save again."
        )
    current = current_version(session=session, letter=locked)
    if current is not None and current.content_hash == digest:
        return None
    number = (session.exec(
        select(func.max(LetterVersion.number)).where(LetterVersion.letter_id == letter.id)
    ).one() or 0) + 1
    version = LetterVersion(
        letter_id=letter.id,  # type: ignore[arg-type]
        number=number,
        salutation=t.salutation,
        subject=t.subject,
        body=t.body,
        sign_off=t.sign_off,
        author_id=author_id,
        content_hash=digest,
    )
    session.add(version)
    session.flush()
    locked.current_version_id = version.id
    session.add(locked)
    session.flush()
    return version


def get_versions(*, session: Session, letter_id: int) -> list[LetterVersion]:
    """Every version of a letter, newest first."""
    stmt = select(LetterVersion).where(LetterVersion.letter_id == letter_id)
    return list(session.exec(stmt.order_by(col(LetterVersion.number).desc())))


def get_version(*, session: Session, letter_id: int, number: int) -> LetterVersion | None:
    stmt = select(LetterVersion).where(LetterVersion.letter_id == letter_id).where(LetterVersion.number == number)
    return session.exec(stmt).first()


# Recipients, quotes, press contact, tags -------------------------------------------------------------

def validate_recipient(recipient: Recipient) -> None:
    if not " ".join((recipient.name or "").split()):
        raise InvalidInput("Each recipient needs a name.", field="recipients")
    if recipient.reply_target_days < 1 or recipient.reply_target_days > 365:
        raise InvalidInput("The reply target must be between 1 and 365 working days.", field="recipients")
    if recipient.very_overdue_days < recipient.reply_target_days:
        raise InvalidInput("The very-overdue target cannot come before the reply target.", field="recipients")


def _in_order(*columns: Any) -> Any:
    """A letter's recipients (these columns of them), in the order it addresses them."""
    return (select(*columns)
            .join(LetterRecipient, col(LetterRecipient.recipient_id) == Recipient.id)
            .where(col(LetterRecipient.letter_id) == bindparam("letter_id"))
            .order_by(col(LetterRecipient.position), col(LetterRecipient.id)))


# Built once: every signer's page asks (making a statement costs more than running it).
_RECIPIENTS = _in_order(Recipient)
_ADDRESSED_TO = _in_order(Recipient.id, Recipient.name, Recipient.position, Recipient.recipient_organisation)


def get_recipients(*, session: Session, letter_id: int) -> list[Recipient]:
    """The letter's recipients, in the order it addresses them."""
    return list(session.exec(_RECIPIENTS, params={"letter_id": letter_id}))


def addressed_to(*, session: Session, letter_id: int) -> tuple[tuple[Any, ...], ...]:
    """The letter's recipients as it addresses them, in order: (id, name, position, organisation) each, as plain
    values read with Core (what the text signers read is made of: every confirmation page asks)."""
    return tuple(tuple(row) for row in session.connection().execute(_ADDRESSED_TO, {"letter_id": letter_id}))


def set_recipients(*, session: Session, letter: Letter, recipients: list[Recipient]) -> None:
    """Makes these (saved or new) recipients the letter's, in this order."""
    for r in recipients:
        validate_recipient(r)
    session.execute(delete(LetterRecipient).where(col(LetterRecipient.letter_id) == letter.id))
    for position, r in enumerate(recipients):
        session.add(r)
        session.flush()
        session.add(LetterRecipient(letter_id=letter.id, recipient_id=r.id, position=position))  # type: ignore[arg-type]
    session.flush()
    revision.bump(session=session, letter_id=letter.id)


def get_quotes(*, session: Session, letter_id: int) -> list[Quote]:
    stmt = select(Quote).where(Quote.letter_id == letter_id).order_by(col(Quote.position), col(Quote.id))
    return list(session.exec(stmt))


def set_quotes(*, session: Session, letter: Letter, quotes: list[Quote]) -> None:
    for q in quotes:
        if not q.person.strip() or not q.text.strip():
            raise InvalidInput("Each quote needs the person's name and the quote itself.", field="quotes")
    session.execute(delete(Quote).where(col(Quote.letter_id) == letter.id))
    for position, q in enumerate(quotes):
        session.add(Quote(letter_id=letter.id, person=q.person.strip(), role=q.role.strip(),  # type: ignore[arg-type]
                          organisation=q.organisation.strip(), text=q.text.strip(), position=position))
    session.flush()
    revision.bump(session=session, letter_id=letter.id)


def get_press_contact(*, session: Session, letter_id: int) -> PressContact | None:
    return session.exec(select(PressContact).where(PressContact.letter_id == letter_id)).first()


def set_press_contact(*, session: Session, letter: Letter, contact: PressContact | None) -> None:
    existing = get_press_contact(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    if contact is None or not contact.name.strip():
        if existing is not None:
            session.delete(existing)
            revision.bump(session=session, letter_id=letter.id)
        return
    target = existing or PressContact(letter_id=letter.id, name="")  # type: ignore[arg-type]
    for name in ("name", "role", "organisation", "email", "phone", "out_of_hours_phone"):
        setattr(target, name, (getattr(contact, name) or "").strip())
    session.add(target)
    session.flush()
    revision.bump(session=session, letter_id=letter.id)


def get_tags(*, session: Session, letter_id: int) -> list[str]:
    stmt = select(LetterTag.name).where(LetterTag.letter_id == letter_id).order_by(col(LetterTag.name))
    return list(session.exec(stmt))


def set_tags(*, session: Session, letter: Letter, tags: list[str]) -> None:
    """Tags keep the case they were written in (for display); two differing only in case are one tag."""
    by_key: dict[str, str] = {}
    for tag in tags:
        name = " ".join(tag.split())[:60]
        if name:
            by_key.setdefault(name.casefold(), name)
    clean = sorted(by_key.values(), key=str.casefold)
    session.execute(delete(LetterTag).where(col(LetterTag.letter_id) == letter.id))
    for name in clean:
        session.add(LetterTag(letter_id=letter.id, name=name))  # type: ignore[arg-type]
    session.flush()
    revision.bump(session=session, letter_id=letter.id)


# The recipients directory -----------------------------------------------------------------------------

RECIPIENT_LIMITS = {"name": 200, "position": 300, "recipient_organisation": 200}
MAX_NOTES = 50_000


def clean_recipient(
    *, name: str, position: str = "", recipient_organisation: str = "", email: str = "",
    reply_target_days: int | str | None = 20, very_overdue_days: int | str | None = 40,
) -> dict[str, object]:
    """Checks one recipient's details and returns them tidied (InvalidInput names the first problem)."""
    values: dict[str, object] = {
        "name": " ".join((name or "").split()),
        "position": " ".join((position or "").split()),
        "recipient_organisation": " ".join((recipient_organisation or "").split()),
    }
    if not values["name"]:
        raise InvalidInput("Each recipient needs a name.", field="name")
    for key, limit in RECIPIENT_LIMITS.items():
        if len(str(values[key])) > limit:
            raise InvalidInput(f"The recipient's {key.replace('recipient_', '')} is too long "
                               f"({limit} characters at most).", field=key)
    values["email"] = normalise_email(email) if (email or "").strip() else None
    for key, raw, default in (("reply_target_days", reply_target_days, 20),
                              ("very_overdue_days", very_overdue_days, 40)):
        text = str(raw).strip() if raw is not None else ""
        if not text:
            values[key] = default
            continue
        try:
            values[key] = int(text)
        except ValueError:
            raise InvalidInput("Enter the number of working days as a whole number, like 20.", field=key) from None
    target, very = int(values["reply_target_days"]), int(values["very_overdue_days"])  # type: ignore[call-overload]
    if target < 1 or target > 365:
        raise InvalidInput("The reply target must be between 1 and 365 working days.", field="reply_target_days")
    if very < target or very > 730:
        raise InvalidInput("The very-overdue target must be at least the reply target (and 730 at most).",
                           field="very_overdue_days")
    return values


def get_directory(*, session: Session, organisation_ids: list[int]) -> list[Recipient]:
    """The recipients kept by these organisations, by name."""
    if not organisation_ids:
        return []
    stmt = (
        select(Recipient)
        .where(col(Recipient.organisation_id).in_(organisation_ids))
        .order_by(col(Recipient.name), col(Recipient.id))
    )
    return list(session.exec(stmt))


def get_recipient(*, session: Session, recipient_id: int, organisation_ids: list[int]) -> Recipient:
    """One recipient of these organisations' directories, or NotFound."""
    recipient = session.get(Recipient, recipient_id)
    if recipient is None or recipient.organisation_id not in organisation_ids:
        raise NotFound("There is no such recipient in your organisations' directory.")
    return recipient


def create_recipient(*, session: Session, organisation_id: int, **details: object) -> Recipient:
    """Adds a recipient to an organisation's directory."""
    values = clean_recipient(**details)  # type: ignore[arg-type]
    recipient = Recipient(organisation_id=organisation_id, **values)  # type: ignore[arg-type]
    session.add(recipient)
    session.flush()
    return recipient


def update_recipient(*, session: Session, recipient: Recipient, **details: object) -> Recipient:
    """Updates a directory entry (every letter addressed to it shows the change)."""
    for key, value in clean_recipient(**details).items():  # type: ignore[arg-type]
        setattr(recipient, key, value)
    session.add(recipient)
    session.flush()
    revision.bump_for_recipient(session=session, recipient_id=recipient.id)
    return recipient


def suggest_salutation(recipients: list[Recipient]) -> str:
    """A salutation from the recipients, e.g. "Dear Home Secretary,"; the drafter may change it."""
    def title(r: Recipient) -> str:
        position = r.position.strip()
        return position if position and len(position) <= 40 else r.name.strip()

    names = [title(r) for r in recipients if r.name.strip()]
    if not names:
        return ""
    if len(names) == 1:
        return f"Dear {names[0]},"
    if len(names) == 2:
        return f"Dear {names[0]} and {names[1]},"
    return "Dear all,"


# Embargo ----------------------------------------------------------------------------------------------

def parse_embargo(*, date_text: str, time_text: str) -> datetime | None:
    """A date and time typed in Europe/London, as UTC (None when both are blank)."""
    date_text, time_text = (date_text or "").strip(), (time_text or "").strip()
    if not date_text and not time_text:
        return None
    if not date_text:
        raise InvalidInput("Enter the date of the embargo as well as the time.", field="embargo")
    try:
        day = datetime.strptime(date_text, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("Enter the embargo date like 2027-03-01.", field="embargo") from None
    try:
        clock = datetime.strptime(time_text or "00:01", "%H:%M").time()
    except ValueError:
        raise InvalidInput("Enter the embargo time like 00:01 or 14:30 (24-hour clock).", field="embargo") from None
    local = datetime.combine(day, clock, tzinfo=LONDON)
    utc = local.astimezone(UTC)
    if utc.astimezone(LONDON).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise InvalidInput("That time does not exist in London: the clocks go forward then. Choose another.",
                           field="embargo")
    return utc


def check_embargo(*, embargo_at: datetime | None, previous: datetime | None) -> None:
    """Refuses a new embargo in the past (an unchanged one may have passed)."""
    if embargo_at is None or (previous is not None and as_utc(previous) == embargo_at):
        return
    if embargo_at <= utcnow():
        raise InvalidInput("The embargo must be in the future.", field="embargo")


# A whole draft, saved at once ---------------------------------------------------------------------------

@dataclass
class RecipientRow:
    """A recipient on the letter form: one from the directory (`id`) or new details."""

    id: int | None = None
    name: str = ""
    position: str = ""
    recipient_organisation: str = ""
    email: str = ""


@dataclass
class LetterDraft:
    """Everything the letter form saves together."""

    title: str
    recipients: list[RecipientRow]
    text: LetterText
    quotes: list[Quote]
    press_contact: PressContact | None
    notes_to_editors: str
    tags: list[str]
    embargo_date: str = ""
    embargo_time: str = ""


def check_editable(letter: Letter) -> None:
    """Text can change while the letter is a draft or open for signatures, not after."""
    if not text_editable(letter):
        raise Conflict(f"This letter is {letter.status}: its text can no longer change.")


def validate_draft(
    *, session: Session, draft: LetterDraft, allowed_recipient_ids: set[int], previous_embargo: datetime | None,
    can_set_embargo: bool,
) -> dict[str, str]:
    """Every problem with a draft, by form field (empty when it can be saved)."""
    errors: dict[str, str] = {}
    title = " ".join(draft.title.split())
    if not title:
        errors["title"] = "Enter a title for the letter."
    elif len(title) > 200:
        errors["title"] = "The title is too long (200 characters at most)."
    rows = [r for r in draft.recipients if r.id is not None or any(
        (r.name.strip(), r.position.strip(), r.recipient_organisation.strip(), r.email.strip()))]
    if not rows:
        errors["recipients"] = "Add at least one recipient: choose one from the directory or type their details."
    for r in rows:
        if r.id is not None:
            if r.id not in allowed_recipient_ids:
                errors["recipients"] = "Choose recipients from your organisations' directory."
            continue
        try:
            clean_recipient(name=r.name, position=r.position, recipient_organisation=r.recipient_organisation,
                            email=r.email)
        except InvalidInput as exc:
            errors.setdefault("recipients", exc.message if exc.field != "email"
                              else f"{exc.message} (recipient {r.name or 'without a name'})")
    t = draft.text.normalised()
    text_checks = (
        ("salutation", t.salutation, 300, "Enter a salutation, such as “Dear Home Secretary,”."),
        ("subject", t.subject, 300, "Enter a subject line."),
        ("sign_off", t.sign_off, 200, "Enter a sign-off, such as “Yours sincerely,”."),
    )
    for name, value, limit, missing in text_checks:
        if not value:
            errors[name] = missing
        elif len(value) > limit:
            errors[name] = f"This is too long ({limit} characters at most)."
    if not t.body.strip():
        errors["body"] = "Write the body of the letter."
    elif len(t.body) > MAX_BODY:
        errors["body"] = (f"The body is too long: {len(t.body):,} characters, and a letter can have "
                          f"{MAX_BODY:,} at most. Shorten it, or move background material to the notes to editors.")
    for q in draft.quotes:
        if not q.person.strip() or not q.text.strip():
            errors["quotes"] = "Each quote needs the person's name and the quote itself."
        elif max(len(q.person), len(q.role), len(q.organisation)) > 200 or len(q.text) > 5000:
            errors["quotes"] = "A quote is too long (names 200 characters, the quote 5,000 at most)."
    pc = draft.press_contact
    if pc is not None:
        filled = any((pc.role, pc.organisation, pc.email, pc.phone, pc.out_of_hours_phone))
        if filled and not pc.name.strip():
            errors["press_name"] = "Enter the press contact's name."
        if max(len(pc.name), len(pc.role), len(pc.organisation)) > 200:
            errors["press_name"] = "The press contact's details are too long (200 characters at most)."
        if pc.email.strip():
            try:
                normalise_email(pc.email)
            except InvalidInput as exc:
                errors["press_email"] = exc.message
        for key in ("phone", "out_of_hours_phone"):
            value = getattr(pc, key).strip()
            if len(value) > 40 or (value and not _PHONE.fullmatch(value)):
                errors[f"press_{key}"] = "Enter a phone number like 020 7946 0000 or +44 20 7946 0000."
    if len(draft.notes_to_editors) > MAX_NOTES:
        errors["notes_to_editors"] = f"The notes to editors are too long ({MAX_NOTES:,} characters at most)."
    if len(draft.tags) > 30:
        errors["tags"] = "Use at most 30 tags."
    if can_set_embargo:
        try:
            embargo_at = parse_embargo(date_text=draft.embargo_date, time_text=draft.embargo_time)
            check_embargo(embargo_at=embargo_at, previous=previous_embargo)
        except InvalidInput as exc:
            errors["embargo"] = exc.message
    return errors


def save_draft(
    *, session: Session, letter: Letter, draft: LetterDraft, author: User, base_version_id: int | None,
    owner_organisation_id: int, allowed_recipient_ids: set[int], can_set_embargo: bool,
) -> LetterVersion | None:
    """Saves the whole form: the text as a new version (Conflict if someone saved since), and the rest."""
    check_editable(letter)
    errors = validate_draft(session=session, draft=draft, allowed_recipient_ids=allowed_recipient_ids,
                            previous_embargo=letter.embargo_at, can_set_embargo=can_set_embargo)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidInput(message, field=field)
    version = save_version(session=session, letter=letter, text=draft.text, author_id=author.id,
                           base_version_id=base_version_id)
    letter.title = " ".join(draft.title.split())
    recipients: list[Recipient] = []
    for row in draft.recipients:
        if row.id is not None:
            found = session.get(Recipient, row.id)
            if found is not None and found not in recipients:
                recipients.append(found)
        elif row.name.strip() or row.position.strip() or row.recipient_organisation.strip() or row.email.strip():
            recipients.append(create_recipient(
                session=session, organisation_id=owner_organisation_id, name=row.name, position=row.position,
                recipient_organisation=row.recipient_organisation, email=row.email,
            ))
    set_recipients(session=session, letter=letter, recipients=recipients)
    set_quotes(session=session, letter=letter, quotes=draft.quotes)
    set_press_contact(session=session, letter=letter, contact=draft.press_contact)
    letter.notes_to_editors = draft.notes_to_editors.replace("\r\n", "\n").strip()
    set_tags(session=session, letter=letter, tags=draft.tags)
    if can_set_embargo:
        letter.embargo_at = parse_embargo(date_text=draft.embargo_date, time_text=draft.embargo_time)
    session.add(letter)
    session.flush()
    revision.bump(session=session, letter_id=letter.id)
    return version


_PHONE = re.compile(r"\+?[0-9][0-9 ()\-.]{4,38}(?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?")
