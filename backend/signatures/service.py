"""Invites, signing, confirmation by emailed link, version-bound signatures, moderation and withdrawal.

A signature is proof that a named person at an organisation approved one exact text: it records the version
and its content hash when its contact confirms by a link sent to their email, and falls back to
`needs_reconfirmation` whenever the letter gets a new text.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import bindparam, case, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.models import Membership, Organisation, User
from backend.accounts.service import normalise_email
from backend.audit import service as audit
from backend.campaigns import service as campaigns
from backend.campaigns.models import Campaign, CoalitionMember
from backend.config import get_settings
from backend.db import as_utc, insert_row, insert_rows, insert_rows_skipping_conflicts, session_for_write, utcnow
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError, TokenInvalid
from backend.letters import diff
from backend.letters import service as letters
from backend.letters.enums import LetterStatus
from backend.letters.models import Letter, LetterVersion
from backend.mail import service as mail
from backend.mail.models import OutboundEmail
from backend.publishing import revision
from backend.security import hash_token, new_token
from backend.signatures import csvio, identity, limits, logos
from backend.signatures.enums import InviteStatus, SignatureKind, SignatureStatus, SignatureVia
from backend.signatures.models import Invite, InviteLink, ListingChange, Signature, SignatureToken
from backend.text import clean_line, clean_name, clean_website, fold

# Lifetimes of emailed links. Kept here (not in Settings) until the lead engineer moves them to config.
INVITE_DAYS = 30
CONFIRM_DAYS = 7
RECONFIRM_DAYS = 60
MANAGE_DAYS = 730
RESEND_CAP = 3

# The states shown on the dashboard, in the order a signature usually moves through them.
DASHBOARD_STATES = (
    "invited", "opened", "pending", "confirmed", "approved", "needs_reconfirmation",
    "declined", "withdrawn", "rejected", "revoked", "bounced",
)
STATE_LABELS = {s: s.replace("_", " ") for s in DASHBOARD_STATES}
LISTED_STATUSES = ("approved",)
ACTIVE_STATUSES = ("pending", "confirmed", "approved", "needs_reconfirmation")

URL_RE = re.compile(
    r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|\b[a-z0-9-]+\.(?:com|org|net|info|biz|io|ru|xyz|top|co|uk|me|app|"
    r"site|online|click|link|ly|gl|tk|cn)\b|<|>)"
)


class SignatureInvalid(InvalidInput):
    """Several fields of the signing form at once; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = errors


def errors_of(exc: InvalidInput) -> dict[str, str]:
    """The field → message map of a form error, for re-rendering the form."""
    return dict(getattr(exc, "errors", None) or {exc.field or "form": exc.message})



def _clean(text: str | None) -> str:
    return " ".join((text or "").split())



def _link(path: str) -> str:
    return get_settings().base_url.rstrip("/") + path


# Letters and who may manage their signatories --------------------------------------------------------

def get_letter(*, session: Session, slug: str) -> Letter:
    """The letter with this slug, or NotFound."""
    letter = letters.get_by_slug(session=session, slug=slug)
    if letter is None:
        raise NotFound("There is no letter at this address.")
    return letter


def require(*, session: Session, letter: Letter, user: User, at_least: str) -> str:
    """The user's coalition role on the letter's campaign, or Forbidden below `at_least`."""
    return campaigns.require_role(session=session, campaign_id=letter.campaign_id, user=user, at_least=at_least)


def lead_organisation(*, session: Session, letter: Letter) -> Organisation | None:
    campaign = session.get(Campaign, letter.campaign_id)
    return session.get(Organisation, campaign.lead_organisation_id) if campaign else None


def current_version(*, session: Session, letter: Letter) -> LetterVersion | None:
    return letters.current_version(session=session, letter=letter)


def letter_html(*, session: Session, letter: Letter, version: LetterVersion) -> Markup:
    """The letter as the shared renderer shows it (a plain fallback while that module is not there)."""
    try:
        from backend.letters.rendering import render_letter  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        paragraphs = [p for p in version.body.split("\n\n") if p.strip()]
        body = Markup("").join(Markup("<p>{}</p>").format(p.strip()) for p in paragraphs)
        return Markup(
            '<article class="letter-text"><p><strong>{}</strong></p><p>{}</p>{}<p>{}</p></article>'
        ).format(version.subject, version.salutation, body, version.sign_off)
    rendered: Markup = render_letter(session=session, letter=letter, version=version)
    return rendered


def open_link_works(*, letter: SigningLetter) -> bool:
    """Whether the open sign-on link answers: open, enabled, and not under an embargo (its text would be at a
    guessable address before publication)."""
    return letter.status == "open" and letter.open_signon_enabled and letter.embargo_at is None


def title_is_public(*, letter: Letter) -> bool:
    """Whether anyone may see the letter's title: published, or shown at its open sign-on link."""
    return letter.status == "published" or open_link_works(letter=letter)


def set_status(*, session: Session, letter: Letter, status: str, user: User, ip: str | None) -> None:
    """Opens a letter for signatures or closes it (lead only)."""
    require(session=session, letter=letter, user=user, at_least="lead")
    if status == "open":
        if letter.status not in ("draft", "closed"):
            raise Conflict(f"This letter is {letter.status}; it cannot be opened for signatures now.")
        if letter.current_version_id is None:
            raise InvalidInput("Write and save the text of the letter before opening it for signatures.")
    elif status == "closed":
        if letter.status != "open":
            raise Conflict("Only a letter open for signatures can be closed.")
    else:
        raise InvalidInput("Choose to open or to close the letter.")
    before = letter.status
    letter.status = LetterStatus(status)
    session.add(letter)
    audit.record(session=session, action=f"letter_{'opened' if status == 'open' else 'closed'}_for_signatures",
                 actor=audit.actor_of(user), actor_user_id=user.id, subject_type="letter", subject_id=letter.id, ip=ip,
                 details={"from": before, "to": status})


@dataclass
class SigningSettings:
    open_signon_enabled: bool
    moderate_open_signons: bool
    allow_individuals: bool
    show_signatories_while_open: bool


def update_settings(*, session: Session, letter: Letter, values: SigningSettings, user: User,
                    ip: str | None) -> None:
    """Changes how the letter collects signatures (lead only)."""
    require(session=session, letter=letter, user=user, at_least="lead")
    changes = {}
    for name, value in vars(values).items():
        if getattr(letter, name) != value:
            changes[name] = value
            setattr(letter, name, value)
    session.add(letter)
    if changes:
        audit.record(session=session, action="signing_settings_changed", actor=audit.actor_of(user),
                     actor_user_id=user.id, subject_type="letter", subject_id=letter.id, ip=ip, details=changes)


# Invites ---------------------------------------------------------------------------------------------

def _inviter_name(*, session: Session, invite: Invite, letter: Letter) -> str:
    """The organisation that sent the invite: the inviter's own in the coalition, else the campaign's lead."""
    if invite.created_by_id is not None:
        row = session.exec(
            select(Organisation.name).join(Membership, col(Membership.organisation_id) == Organisation.id)
            .join(CoalitionMember, col(CoalitionMember.organisation_id) == Organisation.id)
            .where(Membership.user_id == invite.created_by_id)
            .where(CoalitionMember.campaign_id == letter.campaign_id).order_by(col(Organisation.id))).first()
        if row:
            return row
    lead = lead_organisation(session=session, letter=letter)
    return lead.name if lead else "The coalition"


def quoted(name: str, limit: int = 60) -> str:
    """“Name”, cut at `limit` characters: an email subject carries no long free text."""
    name = " ".join(name.split())
    return "“" + (name if len(name) <= limit else name[:limit - 1].rstrip() + "…") + "”"


def _invite_context(*, session: Session, invite: Invite, letter: Letter, token: str, reminder: bool) -> dict[str, Any]:
    lead = lead_organisation(session=session, letter=letter)
    return {
        "inviter_quoted": quoted(_inviter_name(session=session, invite=invite, letter=letter)),
        "invite": invite, "letter": letter, "lead_name": lead.name if lead else "The coalition",
        "link": _link(f"/sign/{token}"), "expires_at": invite.expires_at, "reminder": reminder,
    }


def _send_invite(*, session: Session, invite: Invite, letter: Letter, reminder: bool = False) -> None:
    """Gives the invite a fresh link and queues the email; links sent earlier keep working until it is answered."""
    token = new_token()
    invite.token_hash = hash_token(token)
    invite.expires_at = utcnow() + timedelta(days=INVITE_DAYS)
    invite.sent_at = utcnow()
    if invite.status == "bounced":
        invite.status = InviteStatus.invited
    session.add(invite)
    session.flush()
    session.add(InviteLink(invite_id=invite.id, token_hash=invite.token_hash))  # type: ignore[arg-type]
    mail.enqueue(
        session=session, to=invite.email, template="signature_invite",
        context=_invite_context(session=session, invite=invite, letter=letter, token=token, reminder=reminder),
        dedupe_key=f"sig-invite:{invite.id}:{invite.resend_count}:{'r' if reminder else 's'}",
    )


def get_invites(*, session: Session, letter_id: int) -> list[Invite]:
    return list(session.exec(select(Invite).where(Invite.letter_id == letter_id).order_by(col(Invite.id))))


def create_invites(
    *, session: Session, letter: Letter, text: str, user: User, ip: str | None,
) -> tuple[list[Invite], list[str]]:
    """Invites each "Organisation, email" row; returns the new invites and notes on rows skipped.

    Nothing is created when any row is wrong: the errors name the lines, so the lead can fix them and resend.
    """
    role = require(session=session, letter=letter, user=user, at_least="editor")
    if letter.status != "open":
        raise InvalidInput("Open the letter for signatures before inviting organisations.", field="invites")
    rows = csvio.parse_invites(text or "")
    if not rows:
        raise InvalidInput("Add at least one line: the organisation's name, a comma, then its email address.",
                           field="invites")
    if len(rows) > csvio.MAX_INVITE_ROWS:
        raise InvalidInput(f"Invite at most {csvio.MAX_INVITE_ROWS} organisations at a time.", field="invites")
    problems: list[str] = []
    clean_rows: list[tuple[str, str]] = []
    for row in rows:
        try:
            name = clean_name(row.organisation_name, label=f"Line {row.line}: the organisation's name")
        except InvalidInput as exc:
            problems.append(exc.message)
            continue
        row = dataclasses.replace(row, organisation_name=name)
        if not row.organisation_name:
            problems.append(f"Line {row.line}: the organisation's name is missing.")
            continue
        if len(row.organisation_name) > 200 or URL_RE.search(row.organisation_name):
            problems.append(f"Line {row.line}: “{row.organisation_name[:80]}” is not an organisation name "
                            "(no web addresses, 200 characters at most).")
            continue
        try:
            clean_rows.append((row.organisation_name, normalise_email(row.email)))
        except InvalidInput:
            problems.append(f"Line {row.line}: “{row.email[:80]}” is not an email address.")
    if problems:
        raise InvalidInput(" ".join(problems[:20]) + (" …" if len(problems) > 20 else ""), field="invites")
    existing = {i.email for i in get_invites(session=session, letter_id=letter.id) if i.status != "revoked"}  # type: ignore[arg-type]
    answered = {s.email_key: s for s in get_signatures(session=session, letter_id=letter.id)}  # type: ignore[arg-type]
    created: list[Invite] = []
    skipped: list[str] = []
    wanted: list[tuple[str, str]] = []
    for name, email in clean_rows:
        earlier = answered.get(email)
        if earlier is not None and earlier.status in ("declined", "withdrawn"):
            skipped.append(f"{earlier.display_name} <{email}> {earlier.status} earlier: use “Invite again” on "
                           "its row to invite it again.")
            continue
        if email in existing:
            skipped.append(f"{name} <{email}> was already invited.")
            continue
        existing.add(email)
        wanted.append((name, email))
    limits.check(session=session, user=user, role=role, wanted=len(wanted))
    for name, email in wanted:
        invite = Invite(letter_id=letter.id, organisation_name=name, email=email,  # type: ignore[arg-type]
                        token_hash=hash_token(new_token()), expires_at=utcnow(), created_by_id=user.id)
        session.add(invite)
        session.flush()
        _send_invite(session=session, invite=invite, letter=letter)
        created.append(invite)
    audit.record(session=session, action="invites_created", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip,
                 details={"count": len(created), "invite_ids": [i.id for i in created], "skipped": len(skipped)})
    return created, skipped


def _invite_of_letter(*, session: Session, letter: Letter, invite_id: int) -> Invite:
    invite = session.get(Invite, invite_id)
    if invite is None or invite.letter_id != letter.id:
        raise NotFound("There is no such invite on this letter.")
    return invite


def _answered(*, session: Session, invite: Invite) -> bool:
    return session.exec(select(Signature.id).where(Signature.invite_id == invite.id)).first() is not None


def resend_invite(*, session: Session, letter: Letter, invite_id: int, user: User, ip: str | None) -> Invite:
    """Sends the invite again with a new link (at most RESEND_CAP times)."""
    require(session=session, letter=letter, user=user, at_least="editor")
    invite = _invite_of_letter(session=session, letter=letter, invite_id=invite_id)
    if invite.status in ("revoked", "answered") or _answered(session=session, invite=invite):
        raise Conflict(f"The invite to {invite.organisation_name} is {invite.status}: it cannot be sent again.")
    if invite.resend_count >= RESEND_CAP:
        raise Conflict(f"The invite to {invite.organisation_name} has been sent again {RESEND_CAP} times already.")
    if letter.status != "open":
        raise Conflict("The letter is not open for signatures.")
    invite.resend_count += 1
    _send_invite(session=session, invite=invite, letter=letter)
    audit.record(session=session, action="invite_resent", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="invite", subject_id=invite.id, ip=ip, details={"resend_count": invite.resend_count})
    return invite


def revoke_invite(*, session: Session, letter: Letter, invite_id: int, user: User, ip: str | None) -> Invite:
    """Makes an invite's link stop working."""
    require(session=session, letter=letter, user=user, at_least="editor")
    invite = _invite_of_letter(session=session, letter=letter, invite_id=invite_id)
    if invite.status == "revoked":
        return invite
    if invite.status == "answered":
        raise Conflict(f"{invite.organisation_name} has already answered this invite.")
    invite.status = InviteStatus.revoked
    session.add(invite)
    audit.record(session=session, action="invite_revoked", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="invite", subject_id=invite.id, ip=ip)
    return invite


def remind_unanswered(*, session: Session, letter: Letter, user: User, ip: str | None) -> int:
    """Sends one reminder to each invite not yet answered nor reminded; returns how many were sent."""
    require(session=session, letter=letter, user=user, at_least="editor")
    if letter.status != "open":
        raise Conflict("The letter is not open for signatures.")
    count = 0
    for invite in get_invites(session=session, letter_id=letter.id):  # type: ignore[arg-type]
        if invite.status not in ("invited", "opened") or invite.reminded_at is not None:
            continue
        if _answered(session=session, invite=invite):
            continue
        invite.reminded_at = utcnow()
        _send_invite(session=session, invite=invite, letter=letter, reminder=True)
        count += 1
    audit.record(session=session, action="invites_reminded", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip, details={"count": count})
    return count


def get_invite_by_token(*, session: Session, token: str) -> Invite:
    """The invite behind a /sign link, or TokenInvalid with what went wrong."""
    invite = session.exec(
        select(Invite).join(InviteLink, col(InviteLink.invite_id) == Invite.id)
        .where(InviteLink.token_hash == hash_token(token or ""))
    ).first()
    if invite is None:
        raise TokenInvalid("This invitation link is not valid. Check you copied the whole link from the email.")
    if invite.status == "revoked":
        raise TokenInvalid("This invitation was withdrawn by the coalition. Contact them if you think that is wrong.")
    if invite.status == "answered" or _answered(session=session, invite=invite):
        raise TokenInvalid("This invitation has already been answered. If you signed, check your email for the "
                           "confirmation and management links.")
    expires_at = as_utc(invite.expires_at)
    assert expires_at is not None
    if utcnow() >= expires_at:
        raise TokenInvalid("This invitation link has expired. Ask the coalition to send it again.")
    return invite


def mark_opened(*, session: Session, invite: Invite) -> None:
    """Notes the first time an invite link was opened (a read receipt only: it changes no signature)."""
    if invite.opened_at is None:
        # A write transaction of its own: a GET's session only reads, and on SQLite a read that turns into a
        # write fails at once when another writer got there first.
        with session_for_write(session.get_bind()) as writer:  # type: ignore[arg-type]
            writer.execute(update(Invite).where(col(Invite.id) == invite.id).where(col(Invite.opened_at).is_(None))
                           .values(opened_at=utcnow(), status="opened"))
            writer.commit()


# Signing ---------------------------------------------------------------------------------------------

@dataclass
class SignatureInput:
    """What the signing form sent."""

    kind: str = "organisation"
    display_name: str = ""
    signer_name: str = ""
    signer_role: str = ""
    contact_email: str = ""
    website: str = ""
    city: str = ""
    attested: bool = False
    logo: bytes | None = None
    version_id: int | None = None
    values: dict[str, str] = field(default_factory=dict)
    notify_updates: bool = False  # "tell me about replies": only when ticked


def _check_name(value: str, label: str, name: str, errors: dict[str, str], *, required: bool = True) -> str:
    try:
        text = clean_name(value, label=label[0].upper() + label[1:], field=name)
    except InvalidInput as exc:
        errors[name] = exc.message
        return ""
    if not text:
        if required:
            errors[name] = f"Enter {label}."
        return ""
    if len(text) > 200:
        errors[name] = f"{label[0].upper()}{label[1:]} is too long (200 characters at most)."
    elif URL_RE.search(text):
        errors[name] = f"Web addresses are not allowed in {label}: put the website in its own field."
    return text


def validate(*, letter: SigningLetter, data: SignatureInput) -> SignatureInput:
    """Checks every field of the form at once; SignatureInvalid lists all that are wrong."""
    errors: dict[str, str] = {}
    kind = data.kind if data.kind in ("organisation", "individual") else "organisation"
    if kind == "individual" and not letter.allow_individuals:
        errors["kind"] = "This letter is signed by organisations only."
    if kind == "organisation":
        display = _check_name(data.display_name, "the organisation's name", "display_name", errors)
        signer = _check_name(data.signer_name, "your name", "signer_name", errors)
    else:
        signer = _check_name(data.signer_name, "your name", "signer_name", errors)
        display = signer
    role = _check_name(data.signer_role, "your role" if kind == "organisation" else "your role and affiliation",
                       "signer_role", errors, required=letter.field_signer_role == "required")
    city = ""
    if letter.field_city != "hidden":
        city = _check_name(data.city, "a town or city", "city", errors, required=letter.field_city == "required")
    try:
        email = normalise_email(data.contact_email)
    except InvalidInput as exc:
        errors["contact_email"] = exc.message
        email = ""
    website = clean_line(data.website)
    if letter.field_website == "hidden" or kind == "individual":
        website = ""
    elif website:
        try:
            website = clean_website(website) or ""
        except InvalidInput as exc:
            errors["website"] = exc.message
    elif letter.field_website == "required":
        errors["website"] = "Enter your organisation's website."
    if kind == "organisation" and letter.field_logo == "required" and not data.logo:
        errors["logo"] = "Upload your organisation's logo (PNG or JPEG, 2 MB at most)."
    if not data.attested:
        errors["attested"] = (
            "Tick the box to confirm you are authorised to sign on behalf of this organisation."
            if kind == "organisation" else "Tick the box to confirm you are signing in your own name."
        )
    if errors:
        raise SignatureInvalid(errors)
    return SignatureInput(kind=kind, display_name=display, signer_name=signer, signer_role=role,
                          contact_email=email, website=website, city=city, attested=True, logo=data.logo,
                          version_id=data.version_id, notify_updates=data.notify_updates)


def _duplicate_message(*, session: Session, letter_id: int, kind: str, name_key: str, email_key: str) -> str | None:
    same = select(Signature).where(Signature.letter_id == letter_id)
    by_name = session.exec(same.where(Signature.kind == kind).where(Signature.name_key == name_key)).first()
    if by_name is not None:
        return ("This organisation has already signed or been asked to confirm: one signature per organisation. "
                "If it was you, check your email for the confirmation link."
                if kind == "organisation" else
                "Someone with this name has already signed this letter.")
    by_email = session.exec(same.where(Signature.email_key == email_key)).first()
    if by_email is not None:
        return ("This email address has already been used to sign this letter: one signature per contact email. "
                "Check your email for the confirmation link.")
    return None


def _issue_tokens(*, session: Session, signature_ids: list[int], purpose: str, days: int) -> list[str]:
    """New emailed-link tokens, one per signature, stored only as their hashes; the raw tokens, in order."""
    tokens = [new_token() for _ in signature_ids]
    expires_at = utcnow() + timedelta(days=days)
    insert_rows(session, SignatureToken, [
        {"signature_id": sid, "purpose": purpose, "token_hash": hash_token(token), "expires_at": expires_at}
        for sid, token in zip(signature_ids, tokens, strict=True)])
    return tokens


def _issue_token(*, session: Session, signature_id: int, purpose: str, days: int) -> str:
    return _issue_tokens(session=session, signature_ids=[signature_id], purpose=purpose, days=days)[0]


@dataclass
class SignOnLetter:
    """What signing reads of a letter, in one row with its current text's hash (for the sign-on lane)."""

    id: int | None
    slug: str
    title: str
    status: str
    open_signon_enabled: bool
    current_version_id: int | None
    allow_individuals: bool
    field_signer_role: str
    field_website: str
    field_logo: str
    field_city: str
    embargo_at: datetime | None
    version_content_hash: str | None


SigningLetter = Letter | SignOnLetter


_letters, _versions = Letter.__table__, LetterVersion.__table__  # type: ignore[attr-defined]
_SIGN_ON_LETTER = (
    sa_select(*(_letters.c[f.name] for f in fields(SignOnLetter) if f.name != "version_content_hash"),
              _versions.c.content_hash.label("version_content_hash"))
    .select_from(_letters.outerjoin(_versions, _versions.c.id == _letters.c.current_version_id))
    .where(_letters.c.slug == bindparam("slug"))
)


def get_sign_on_letter(*, session: Session, slug: str) -> SignOnLetter | None:
    """The letter at this address with its current text's hash, in one query (for the sign-on lane)."""
    row = session.connection().execute(_SIGN_ON_LETTER, {"slug": slug}).first()
    return SignOnLetter(**row._mapping) if row is not None else None


@dataclass(frozen=True)
class Signed:
    """A signature just recorded, waiting for its contact to confirm it."""

    id: int
    contact_email: str


@dataclass(frozen=True)
class SignOn:
    """One submission of a signing form, for `sign_many`."""

    letter: SigningLetter
    data: SignatureInput
    invite: Invite | None = None
    ip: str | None = None
    content_hash: str | None = None  # the current version's, when the caller has it


def sign(
    *, session: Session, letter: SigningLetter, data: SignatureInput, invite: Invite | None = None,
    ip: str | None = None,
) -> Signed:
    """Records a pending signature and emails its contact a confirmation link (see `sign_many`)."""
    outcome = sign_many(session=session, submissions=[SignOn(letter=letter, data=data, invite=invite, ip=ip)])[0]
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def sign_many(*, session: Session, submissions: list[SignOn]) -> list[Signed | ServiceError]:
    """Records pending signatures and emails each contact a confirmation link, in the caller's transaction.

    Each submission is either recorded or refused (a mistake in the form, a duplicate, a closed letter): the
    refusal is returned in its place, and nothing of it is written, so the others go on. The unique keys on
    (letter, kind, folded name) and (letter, folded email) make this safe under concurrent submissions: only
    one wins (ON CONFLICT DO NOTHING), the others get a clear message. Plain INSERTs and one statement per
    table for the whole batch (each is a round trip to PostgreSQL): on publication day this runs hundreds of
    times a second, and a pending signature is on no public page.
    """
    outcomes: list[Signed | ServiceError | None] = [None] * len(submissions)
    logo_paths: list[str] = []
    try:
        prepared: list[tuple[int, SignOn, dict[str, Any]]] = []
        proposals: dict[int, str] = {}
        for n, item in enumerate(submissions):
            try:
                values = _prepare(session=session, item=item, logo_paths=logo_paths)
            except ServiceError as exc:
                outcomes[n] = exc
                continue
            proposed = values.pop("proposed_name")
            if proposed:
                proposals[n] = proposed
            prepared.append((n, item, values))
        recorded = _insert_signatures(session=session, prepared=prepared, outcomes=outcomes,
                                      logo_paths=logo_paths)
        for n, sid, values in recorded:
            outcomes[n] = Signed(id=sid, contact_email=values["contact_email"])
            if n in proposals:
                _propose(session=session, signature_id=sid, letter_id=values["letter_id"], kind=values["kind"],
                         display_name=proposals[n], website=values["website"])
        tokens = _issue_tokens(session=session, signature_ids=[sid for _, sid, _ in recorded], purpose="confirm",
                               days=CONFIRM_DAYS)
        mail.enqueue_new(session=session, emails=[
            mail.NewEmail(to=values["contact_email"], template="signature_confirm", dedupe_key=f"sig-confirm:{sid}",
                          context={"signature": values, "letter": submissions[n].letter,
                                   "link": _link(f"/confirm/{token}"), "days": CONFIRM_DAYS})
            for (n, sid, values), token in zip(recorded, tokens, strict=True)])
        audit.record_many(session=session, events=[
            audit.Event(action="signature_submitted", actor=f"signatory {values['contact_email']}",
                        subject_type="signature", subject_id=sid, ip=submissions[n].ip,
                        details={"letter_id": values["letter_id"], "via": values["via"], "kind": values["kind"],
                                 "name": values["display_name"], "version_id": values["version_id"]})
            for n, sid, values in recorded])
    except BaseException:
        for path in logo_paths:
            logos.remove(path)
        raise
    return [outcome for outcome in outcomes if outcome is not None]


def _prepare(*, session: Session, item: SignOn, logo_paths: list[str]) -> dict[str, Any]:
    """Checks one submission; its signature row, or the refusal (raised before anything is written)."""
    letter, invite = item.letter, item.invite
    if letter.status != "open":
        raise InvalidInput("This letter is not open for signatures.", field="form")
    if invite is None and not open_link_works(letter=letter):
        raise NotFound("This letter is not open for signatures through a public link.")
    clean = validate(letter=letter, data=item.data)
    if clean.version_id is None or clean.version_id != letter.current_version_id:
        raise InvalidInput("The text of the letter changed while you were reading it. Read the new text above, "
                           "then send the form again.", field="form")
    content_hash = item.content_hash
    if content_hash is None:
        version = session.get(LetterVersion, clean.version_id)
        assert version is not None
        content_hash = version.content_hash
    # The invited name is the name: a different one typed by the signer is a correction for the lead to approve.
    display, proposed = clean.display_name, None
    if invite is not None and clean.kind == "organisation" and fold(display) != fold(invite.organisation_name):
        display, proposed = invite.organisation_name, display
    hold = None
    if invite is None and clean.kind == "organisation":
        hold = identity.look_alike(session=session, letter_id=letter.id, name=display, name_key=fold(display))
    logo_path = None
    if clean.logo and clean.kind == "organisation" and letter.field_logo != "hidden":
        logo_path = logos.store(logos.clean(clean.logo))
        logo_paths.append(logo_path)
    return {
        "letter_id": letter.id, "version_id": clean.version_id, "content_hash": content_hash,
        "kind": clean.kind, "display_name": display, "name_key": fold(display),
        "skeleton": identity.skeleton(display), "hold_reason": hold, "proposed_name": proposed,
        "signer_name": clean.signer_name, "signer_role": clean.signer_role, "contact_email": clean.contact_email,
        "email_key": clean.contact_email, "website": clean.website or None, "logo_path": logo_path,
        "city": clean.city or None, "status": "pending", "via": "invite" if invite else "open",
        "invite_id": invite.id if invite else None, "attested_at": utcnow(),
        "notify_updates": clean.notify_updates,
    }


def _insert_signatures(
    *, session: Session, prepared: list[tuple[int, SignOn, dict[str, Any]]],
    outcomes: list[Signed | ServiceError | None], logo_paths: list[str],
) -> list[tuple[int, int, dict[str, Any]]]:
    """Inserts the prepared signature rows (the open ones in one statement); the refused get their message in
    `outcomes`. Returns (position, signature id, row) of those recorded, in the order submitted."""
    recorded: list[tuple[int, int, dict[str, Any]]] = []
    for n, item, values in prepared:
        if item.invite is not None:
            # The invite is claimed first, in a savepoint that undoes the claim if the signature is refused.
            try:
                with session.begin_nested():
                    _claim(session=session, invite=item.invite)
                    sid = insert_row(session, Signature, values, skip_conflicts=True)
                    if sid is None:
                        raise _duplicate(session=session, values=values)
            except ServiceError as exc:
                outcomes[n] = _refused(exc, values, logo_paths)
            else:
                recorded.append((n, sid, values))
    open_rows = [(n, values) for n, item, values in prepared if item.invite is None]
    inserted = insert_rows_skipping_conflicts(session, Signature, [values for _, values in open_rows],
                                              returning=("id", "letter_id", "kind", "name_key", "email_key"))
    ids = {(row.letter_id, row.kind, row.name_key, row.email_key): row.id for row in inserted}
    for n, values in open_rows:
        # pop: a second, identical submission in the same batch was not inserted and is refused below
        sid = ids.pop((values["letter_id"], values["kind"], values["name_key"], values["email_key"]), None)
        if sid is None:
            outcomes[n] = _refused(_duplicate(session=session, values=values), values, logo_paths)
        else:
            recorded.append((n, sid, values))
    return sorted(recorded, key=lambda r: r[0])


def _claim(*, session: Session, invite: Invite) -> None:
    claimed = session.execute(
        update(Invite).where(col(Invite.id) == invite.id)
        .where(col(Invite.status).in_(("invited", "opened"))).values(status="answered")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid("This invitation has already been answered.")


def _duplicate(*, session: Session, values: dict[str, Any]) -> InvalidInput:
    message = _duplicate_message(session=session, letter_id=values["letter_id"], kind=values["kind"],
                                 name_key=values["name_key"], email_key=values["email_key"])
    return InvalidInput(message or "This organisation or email address has already signed this letter.",
                        field="contact_email" if message and "organisation" not in message else "display_name")


def _refused(exc: ServiceError, values: dict[str, Any], logo_paths: list[str]) -> ServiceError:
    """A refusal after the row was prepared: its logo, already stored, goes."""
    if values["logo_path"] is not None:
        logo_paths.remove(values["logo_path"])
        logos.remove(values["logo_path"])
    return exc


def decline(*, session: Session, invite: Invite, reason: str, ip: str | None) -> Signature:
    """Records that an invited organisation declined to sign, with its optional reason."""
    letter = session.get(Letter, invite.letter_id)
    assert letter is not None
    reason = (reason or "").strip()[:2000]
    claimed = session.execute(
        update(Invite).where(col(Invite.id) == invite.id)
        .where(col(Invite.status).in_(("invited", "opened"))).values(status="answered")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid("This invitation has already been answered.")
    signature = Signature(
        letter_id=letter.id, kind="organisation", display_name=invite.organisation_name,  # type: ignore[arg-type]
        name_key=fold(invite.organisation_name), signer_name="", contact_email=invite.email,
        email_key=invite.email, status=SignatureStatus.declined, via=SignatureVia.invite, invite_id=invite.id,
        declined_at=utcnow(),
        decline_reason=reason or None, notify_updates=False,
    )
    try:
        with session.begin_nested():
            session.add(signature)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("This organisation already has a signature on this letter; it cannot also decline.") from exc
    audit.record(session=session, action="invite_declined", actor=f"signatory {invite.email}",
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"invite_id": invite.id, "reason": reason[:200]})
    return signature


# Emailed links for a signature ----------------------------------------------------------------------

def get_by_token(*, session: Session, token: str, purposes: tuple[str, ...]) -> tuple[SignatureToken, Signature]:
    """The token and its signature if the link is valid for one of these purposes (changes nothing)."""
    row = session.exec(select(SignatureToken).where(SignatureToken.token_hash == hash_token(token or ""))).first()
    if row is None or row.purpose not in purposes:
        raise TokenInvalid("This link is not valid. Check you copied the whole link from the email.")
    if row.used_at is not None:
        raise TokenInvalid("This link has already been used. Each confirmation link works once.")
    expires_at = as_utc(row.expires_at)
    assert expires_at is not None
    if utcnow() >= expires_at:
        raise TokenInvalid("This link has expired. Sign again from the letter's signing page or invite link, "
                           "or ask the coalition for help.")
    signature = session.get(Signature, row.signature_id)
    if signature is None:
        raise TokenInvalid("This link is not valid any more.")
    return row, signature


def _spend(*, session: Session, row: SignatureToken) -> None:
    result = session.execute(
        update(SignatureToken).where(col(SignatureToken.id) == row.id)
        .where(col(SignatureToken.used_at).is_(None)).values(used_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid("This link has already been used. Each confirmation link works once.")


def _check_version(*, letter: Letter, version_id: int | None) -> LetterVersion | None:
    if version_id != letter.current_version_id:
        raise InvalidInput("The text of the letter changed while this page was open. Read the new text and "
                           "confirm again.", field="form")
    return None


def _approve_status(signature: Signature, letter: Letter) -> str:
    if signature.hold_reason and signature.approved_at is None:
        return "confirmed"  # a look-alike name waits for a person
    if signature.via == "invite" or not letter.moderate_open_signons or signature.approved_at is not None:
        return "approved"
    return "confirmed"


def _receipt(*, session: Session, signature: Signature, letter: Letter, version: LetterVersion, kind: str) -> str:
    manage = _issue_token(session=session, signature_id=signature.id,  # type: ignore[arg-type]
                          purpose="manage", days=MANAGE_DAYS)
    mail.enqueue(
        session=session, to=signature.contact_email, template="signature_receipt",
        context={"signature": signature, "letter": letter, "version": version, "kind": kind,
                 "manage_link": _link(f"/manage/{manage}"), "awaiting_moderation": signature.status == "confirmed"},
        dedupe_key=f"sig-receipt:{signature.id}:{version.id}",
    )
    return manage


def confirm(*, session: Session, token: str, version_id: int | None, ip: str | None) -> tuple[Signature, str]:
    """The POST behind the emailed confirmation link: binds the signature to the text shown and approves it.

    Returns the signature and the raw token of its new management link.
    """
    row, signature = get_by_token(session=session, token=token, purposes=("confirm",))
    letter = session.get(Letter, signature.letter_id)
    assert letter is not None
    if signature.status != "pending":
        raise TokenInvalid("This signature is no longer waiting for confirmation.")
    if letter.status != "open":
        raise InvalidInput("This letter is no longer open for signatures.", field="form")
    _check_version(letter=letter, version_id=version_id)
    version = current_version(session=session, letter=letter)
    assert version is not None
    _spend(session=session, row=row)
    now = utcnow()
    signature.version_id, signature.content_hash = version.id, version.content_hash
    signature.confirmed_at = now
    signature.confirmed_domain = identity.confirmed_domain(email=signature.contact_email, website=signature.website)
    signature.status = SignatureStatus(_approve_status(signature, letter))
    if signature.status == "approved":
        signature.approved_at = now
    session.add(signature)
    session.flush()
    manage = _receipt(session=session, signature=signature, letter=letter, version=version, kind="confirmed")
    audit.record(session=session, action="signature_confirmed", actor=f"signatory {signature.contact_email}",
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"status": signature.status, "version_id": version.id,
                          "content_hash": version.content_hash})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature, manage


def on_new_version(*, session: Session, letter: Letter, version: LetterVersion) -> int:
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
        token = _issue_token(session=session, signature_id=signature.id,  # type: ignore[arg-type]
                             purpose="reconfirm", days=RECONFIRM_DAYS)
        changes = diff.text_diff(old, version)
        mail.enqueue(
            session=session, to=signature.contact_email, template="signature_reconfirm",
            context={"signature": signature, "letter": letter, "version": version, "old": old,
                     "diff_text": diff.as_plain_text(changes), "segments": changes,
                     "approve_link": _link(f"/confirm/{token}"),
                     "withdraw_link": _link(f"/confirm/{token}/withdraw")},
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


def reconfirm(*, session: Session, token: str, version_id: int | None, ip: str | None) -> tuple[Signature, str]:
    """The POST that approves the letter's new text for a signature that needed reconfirmation."""
    row, signature = get_by_token(session=session, token=token, purposes=("reconfirm",))
    letter = session.get(Letter, signature.letter_id)
    assert letter is not None
    if signature.status != "needs_reconfirmation":
        raise TokenInvalid("This signature is not waiting for a new approval.")
    if letter.status == "published":
        raise InvalidInput("This letter has been published; its text can no longer be approved.", field="form")
    _check_version(letter=letter, version_id=version_id)
    version = current_version(session=session, letter=letter)
    assert version is not None
    _spend(session=session, row=row)
    old_version_id = signature.version_id
    signature.version_id, signature.content_hash = version.id, version.content_hash
    signature.confirmed_at = utcnow()
    signature.status = SignatureStatus(_approve_status(signature, letter))
    session.add(signature)
    session.flush()
    manage = _receipt(session=session, signature=signature, letter=letter, version=version, kind="reconfirmed")
    audit.record(session=session, action="signature_reconfirmed", actor=f"signatory {signature.contact_email}",
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"old_version_id": old_version_id, "version_id": version.id,
                          "content_hash": version.content_hash})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature, manage


def _withdraw(*, session: Session, signature: Signature, actor: str, actor_user_id: int | None,
              ip: str | None, reason: str = "") -> Signature:
    if signature.status in ("withdrawn", "declined", "rejected"):
        raise Conflict(f"This signature is already {signature.status}.")
    before = signature.status
    signature.status = SignatureStatus.withdrawn
    signature.withdrawn_at = utcnow()
    session.add(signature)
    session.execute(update(SignatureToken).where(col(SignatureToken.signature_id) == signature.id)
                    .where(col(SignatureToken.purpose).in_(("confirm", "reconfirm")))
                    .where(col(SignatureToken.used_at).is_(None)).values(used_at=utcnow()))
    audit.record(session=session, action="signature_withdrawn", actor=actor, actor_user_id=actor_user_id,
                 subject_type="signature", subject_id=signature.id, ip=ip,
                 details={"from": before, "reason": reason[:500]})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature


def withdraw_by_token(*, session: Session, token: str, ip: str | None) -> Signature:
    """A signatory withdraws through their reconfirmation or management link (until publication)."""
    row, signature = get_by_token(session=session, token=token, purposes=("reconfirm", "manage"))
    letter = session.get(Letter, signature.letter_id)
    assert letter is not None
    if letter.status == "published":
        raise Forbidden("This letter has been published. To withdraw your signature now, contact the coalition "
                        "that invited you: they can withdraw it for you, and the change is recorded.")
    if row.purpose == "reconfirm":
        _spend(session=session, row=row)
    return _withdraw(session=session, signature=signature, actor=f"signatory {signature.contact_email}",
                     actor_user_id=None, ip=ip)


@dataclass
class ListingInput:
    display_name: str = ""
    signer_name: str = ""
    signer_role: str = ""
    website: str = ""
    city: str = ""
    logo: bytes | None = None
    remove_logo: bool = False


def _name_taken(*, session: Session, letter_id: int, kind: str, name_key: str, signature_id: int | None) -> bool:
    return session.exec(select(Signature.id).where(Signature.letter_id == letter_id).where(Signature.kind == kind)
                        .where(Signature.name_key == name_key).where(Signature.id != signature_id)).first() is not None


def _propose(*, session: Session, signature_id: int, letter_id: int, kind: str, display_name: str,
             website: str | None) -> ListingChange:
    """Records (or replaces) the one change of a listing waiting for the lead, with why it is held if it is a
    look-alike."""
    change = identity.pending_change(session=session, signature_id=signature_id) or ListingChange(
        signature_id=signature_id, display_name=display_name)
    change.display_name, change.website, change.kind = display_name, website, SignatureKind(kind)
    change.hold_reason = identity.look_alike(session=session, letter_id=letter_id, name=display_name,
                                             name_key=fold(display_name), exclude_signature_id=signature_id)
    session.add(change)
    session.flush()
    return change


def update_listing(*, session: Session, token: str, data: ListingInput, ip: str | None) -> Signature:
    """A signatory corrects how they are listed, through their management link (until publication).

    Once a listing was approved (and always for an invited organisation), a new name or website is only a
    proposal: the listing stays as it was until the lead approves the change.
    """
    _row, signature = get_by_token(session=session, token=token, purposes=("manage",))
    letter = session.get(Letter, signature.letter_id)
    assert letter is not None
    if letter.status == "published":
        raise Forbidden("This letter has been published. Contact the coalition to change your listing.")
    if signature.status in ("withdrawn", "declined", "rejected"):
        raise Conflict(f"This signature is {signature.status}: its listing can no longer be changed.")
    clean = validate(letter=letter, data=SignatureInput(
        kind=signature.kind, display_name=data.display_name, signer_name=data.signer_name,
        signer_role=data.signer_role, contact_email=signature.contact_email, website=data.website,
        city=data.city, attested=True, logo=data.logo or (b"kept" if signature.logo_path else None),
    ))
    name_key = fold(clean.display_name)
    if name_key != signature.name_key and _name_taken(session=session, letter_id=letter.id, kind=signature.kind,  # type: ignore[arg-type]
                                                      name_key=name_key, signature_id=signature.id):
        raise InvalidInput("Another signature on this letter already uses that name.", field="display_name")
    identity_changed = (clean.display_name != signature.display_name
                        or (clean.website or None) != signature.website)
    held = identity_changed and (signature.approved_at is not None or signature.via == "invite")
    old_logo = signature.logo_path
    new_logo = logos.store(logos.clean(data.logo)) if data.logo and signature.kind == "organisation" else None
    before = {"display_name": signature.display_name, "signer_name": signature.signer_name,
              "signer_role": signature.signer_role, "website": signature.website, "city": signature.city}
    if held:
        _propose(session=session, signature_id=signature.id, letter_id=letter.id, kind=signature.kind,  # type: ignore[arg-type]
                 display_name=clean.display_name, website=clean.website or None)
    elif identity_changed:
        signature.display_name, signature.name_key = clean.display_name, name_key
        signature.skeleton = identity.skeleton(clean.display_name)
        signature.website = clean.website or None
        if signature.status in ("pending", "confirmed") and signature.kind == "organisation":
            signature.hold_reason = identity.look_alike(session=session, letter_id=letter.id,
                                                        name=clean.display_name, name_key=name_key,
                                                        exclude_signature_id=signature.id)
    signature.signer_name, signature.signer_role = clean.signer_name, clean.signer_role
    signature.city = clean.city or None
    if new_logo or data.remove_logo:
        signature.logo_path = new_logo
    try:
        with session.begin_nested():
            session.add(signature)
            session.flush()
    except IntegrityError as exc:
        logos.remove(new_logo)
        raise InvalidInput("Another signature on this letter already uses that name.", field="display_name") from exc
    if signature.logo_path != old_logo:
        logos.remove(old_logo)
    audit.record(session=session, action="signature_listing_changed",
                 actor=f"signatory {signature.contact_email}", subject_type="signature", subject_id=signature.id,
                 ip=ip, details={"before": before, "logo_changed": signature.logo_path != old_logo,
                                 **({"proposed": {"display_name": clean.display_name, "website": clean.website}}
                                    if held else {})})
    return signature


def moderate_change(*, session: Session, letter: Letter, signature_id: int, approve: bool, user: User,
                    ip: str | None) -> Signature:
    """The lead approves a held change of a listing (it is applied) or rejects it (the listing stays)."""
    require(session=session, letter=letter, user=user, at_least="lead")
    signature = _signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    change = identity.pending_change(session=session, signature_id=signature.id)
    if change is None:
        raise Conflict(f"{signature.display_name} has no change waiting for approval.")
    before = {"display_name": signature.display_name, "website": signature.website, "kind": signature.kind}
    after = {"display_name": change.display_name, "website": change.website, "kind": change.kind}
    if approve:
        name_key = fold(change.display_name)
        if _name_taken(session=session, letter_id=letter.id, kind=change.kind, name_key=name_key,  # type: ignore[arg-type]
                       signature_id=signature.id):
            raise Conflict(f"Another signature on this letter is already listed as {change.display_name}.")
        signature.display_name, signature.name_key, signature.kind = change.display_name, name_key, change.kind
        signature.skeleton = identity.skeleton(change.display_name)
        signature.website = change.website
        signature.confirmed_domain = identity.confirmed_domain(email=signature.contact_email, website=change.website)
        session.add(signature)
    session.delete(change)
    session.flush()
    audit.record(session=session, action="listing_change_approved" if approve else "listing_change_rejected",
                 actor=audit.actor_of(user), actor_user_id=user.id, subject_type="signature",
                 subject_id=signature.id, ip=ip, details={"before": before, "after": after})
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature


# The coalition's dashboard -------------------------------------------------------------------------

def _signature_of_letter(*, session: Session, letter: Letter, signature_id: int) -> Signature:
    signature = session.get(Signature, signature_id)
    if signature is None or signature.letter_id != letter.id:
        raise NotFound("There is no such signature on this letter.")
    return signature


def moderate(*, session: Session, letter: Letter, signature_id: int, approve: bool, user: User,
             ip: str | None) -> Signature:
    """Approves or rejects a confirmed open sign-on (lead only)."""
    require(session=session, letter=letter, user=user, at_least="lead")
    signature = _signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    if signature.status != "confirmed":
        raise Conflict(f"{signature.display_name} is {STATE_LABELS.get(signature.status, signature.status)}, "
                       "not waiting for moderation.")
    signature.status = SignatureStatus.approved if approve else SignatureStatus.rejected
    if approve:
        signature.approved_at = utcnow()
    session.add(signature)
    audit.record(session=session, action="signature_approved" if approve else "signature_rejected",
                 actor=audit.actor_of(user), actor_user_id=user.id, subject_type="signature",
                 subject_id=signature.id, ip=ip)
    revision.bump(session=session, letter_id=signature.letter_id)
    return signature


CORRECTABLE_STATES = ("pending", "confirmed", "approved", "needs_reconfirmation")


def correct_listing(*, session: Session, letter: Letter, signature_id: int, display_name: str, user: User,
                    ip: str | None) -> tuple[Signature, str]:
    """The lead corrects the spelling of a listed name (as moderator, no approval needed); the signatory is told
    by email. Returns the signature and the name it had."""
    require(session=session, letter=letter, user=user, at_least="lead")
    signature = _signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    if signature.status not in CORRECTABLE_STATES:
        raise Conflict(f"{signature.display_name} is {STATE_LABELS.get(signature.status, signature.status)}: its "
                       "listing is no longer shown.")
    name = clean_name(display_name, label="The name", field="display_name")
    if not name or len(name) > 200 or URL_RE.search(name):
        raise InvalidInput("Enter the name as it should be listed (no web addresses, 200 characters at most).",
                           field="display_name")
    if name == signature.display_name:
        raise InvalidInput(f"The listing already reads “{name}”.", field="display_name")
    name_key = fold(name)
    if name_key != signature.name_key and _name_taken(session=session, letter_id=letter.id, kind=signature.kind,  # type: ignore[arg-type]
                                                      name_key=name_key, signature_id=signature.id):
        raise InvalidInput("Another signature on this letter is already listed under that name.",
                           field="display_name")
    before = signature.display_name
    signature.display_name, signature.name_key = name, name_key
    signature.skeleton = identity.skeleton(name)
    session.add(signature)
    session.flush()
    audit.record(session=session, action="listing_corrected", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="signature", subject_id=signature.id, ip=ip, details={"before": before, "after": name})
    if signature.contact_email:
        mail.enqueue(session=session, to=signature.contact_email, template="listing_corrected",
                     context={"letter": letter, "signature": signature, "before": before},
                     dedupe_key=f"listing-corrected:{signature.id}:{name_key}")
    revision.bump(session=session, letter_id=letter.id)
    return signature, before


def withdraw_by_lead(*, session: Session, letter: Letter, signature_id: int, reason: str, user: User,
                     ip: str | None) -> Signature:
    """The lead withdraws a signature at the signatory's request (the only way after publication)."""
    require(session=session, letter=letter, user=user, at_least="lead")
    signature = _signature_of_letter(session=session, letter=letter, signature_id=signature_id)
    if not _clean(reason):
        raise InvalidInput("Say why the signature is withdrawn (for example, who asked and when).", field="reason")
    return _withdraw(session=session, signature=signature, actor=audit.actor_of(user), actor_user_id=user.id, ip=ip,
                     reason=_clean(reason))


def set_display_order(*, session: Session, letter: Letter, order: dict[int, int], user: User,
                      ip: str | None) -> None:
    """Sets the position of each signature in the published list (lower numbers first)."""
    require(session=session, letter=letter, user=user, at_least="editor")
    changed = {}
    for signature in get_signatures(session=session, letter_id=letter.id):  # type: ignore[arg-type]
        if signature.id in order and order[signature.id] != signature.display_order:
            position = order[signature.id]
            if not -100_000 <= position <= 100_000:
                raise InvalidInput("Use whole numbers between -100000 and 100000 for the order.", field="order")
            signature.display_order = position
            session.add(signature)
            changed[signature.id] = position
    if changed:
        audit.record(session=session, action="signature_order_changed", actor=audit.actor_of(user),
                     actor_user_id=user.id, subject_type="letter", subject_id=letter.id, ip=ip,
                     details={"order": changed})
        revision.bump(session=session, letter_id=letter.id)


def get_signatures(*, session: Session, letter_id: int) -> list[Signature]:
    """Every signature row of a letter, in display order."""
    stmt = (select(Signature).where(Signature.letter_id == letter_id)
            .order_by(col(Signature.display_order), col(Signature.created_at), col(Signature.id)))
    return list(session.exec(stmt))


def get_listed(*, session: Session, letter: Letter) -> list[Signature]:
    """The signatures shown publicly: approved on the current text; organisations first, in display order."""
    stmt = (
        select(Signature)
        .where(Signature.letter_id == letter.id)
        .where(col(Signature.status).in_(LISTED_STATUSES))
        .where(Signature.version_id == letter.current_version_id)
        .order_by(case((col(Signature.kind) == "organisation", 0), else_=1), col(Signature.display_order),
                  col(Signature.approved_at), col(Signature.id))
    )
    return list(session.exec(stmt))


@dataclass
class DashboardRow:
    state: str
    organisation: str
    person: str
    email: str
    kind: str
    via: str
    version_number: int | None
    at: datetime | None
    invite: Invite | None = None
    signature: Signature | None = None
    note: str = ""


def _bounced_invites(*, session: Session, invites: list[Invite]) -> set[int]:
    if not invites:
        return set()
    failed = session.exec(
        select(OutboundEmail.dedupe_key).where(col(OutboundEmail.status) == "failed")
        .where(col(OutboundEmail.template) == "signature_invite")
        .where(col(OutboundEmail.to_address).in_([i.email for i in invites]))
    ).all()
    bounced = set()
    for key in failed:
        parts = (key or "").split(":")
        if len(parts) >= 3 and parts[0] == "sig-invite" and parts[1].isdigit():
            invite_id = int(parts[1])
            invite = next((i for i in invites if i.id == invite_id), None)
            if invite is not None and parts[2] == str(invite.resend_count):
                bounced.add(invite_id)
    return bounced


def dashboard(*, session: Session, letter: Letter, include_emails: bool = False,
              ) -> tuple[list[DashboardRow], Counter[str]]:
    """One row per invite not yet answered and per signature, with its state; and the count of each state.

    Contact emails only with `include_emails` (editors and the lead): viewers see names, as in the CSV."""
    invites = get_invites(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    signatures = get_signatures(session=session, letter_id=letter.id)  # type: ignore[arg-type]
    numbers = {v.id: v.number for v in letters.get_versions(session=session, letter_id=letter.id)}  # type: ignore[arg-type]
    answered = {s.invite_id for s in signatures if s.invite_id}
    bounced = _bounced_invites(session=session, invites=invites)
    rows: list[DashboardRow] = []
    for invite in invites:
        if invite.id in answered:
            continue
        state = "bounced" if invite.id in bounced else (
            "revoked" if invite.status == "revoked" else "opened" if invite.opened_at else "invited")
        expires = as_utc(invite.expires_at)
        note = "link expired" if state in ("invited", "opened") and expires and expires <= utcnow() else ""
        if invite.reminded_at:
            note = (note + "; " if note else "") + "reminded"
        rows.append(DashboardRow(state=state, organisation=invite.organisation_name, person="",
                                 email=invite.email if include_emails else "",
                                 kind="organisation", via="invite", version_number=None,
                                 at=invite.opened_at or invite.sent_at, invite=invite, note=note))
    refused = mail.undeliverable(session=session, addresses=[s.contact_email for s in signatures])
    for s in signatures:
        of_invite = next((i for i in invites if i.id == s.invite_id), None) if s.invite_id else None
        note = s.decline_reason or ""
        if s.status == "confirmed":
            note = f"held: {s.hold_reason}" if s.hold_reason else "waiting for moderation"
        elif s.confirmed_domain and s.status in ("approved", "needs_reconfirmation"):
            note = identity.confirmation_line(s)
        if s.contact_email in refused:
            note = (note + "; " if note else "") + f"mail to this address was refused: {refused[s.contact_email]}"
        rows.append(DashboardRow(
            state=s.status, organisation=s.display_name, person=s.signer_name,
            email=s.contact_email if include_emails else "", kind=s.kind,
            via=s.via, version_number=numbers.get(s.version_id) if s.version_id else None,
            at=s.withdrawn_at or s.declined_at or s.approved_at or s.confirmed_at or s.created_at,
            invite=of_invite, signature=s, note=note,
        ))
    counts = Counter(r.state for r in rows)
    return rows, counts


def _iso(value: datetime | None) -> str:
    aware = as_utc(value)
    return aware.isoformat() if aware else ""


def export_csv(*, session: Session, letter: Letter, include_emails: bool) -> str:
    """The signatory list as CSV, in display order; emails only when asked (and cells safe for spreadsheets)."""
    numbers = {v.id: v.number for v in letters.get_versions(session=session, letter_id=letter.id)}  # type: ignore[arg-type]
    header = ["order", "kind", "name", "signer", "role", "website", "city", "status", "version", "content_hash",
              "confirmed_at", "confirmation"]
    if include_emails:
        header.append("contact_email")
    rows = []
    for s in get_signatures(session=session, letter_id=letter.id):  # type: ignore[arg-type]
        if s.status == "declined":
            continue
        row: list[object] = [s.display_order, s.kind, s.display_name, s.signer_name, s.signer_role, s.website or "",
                             s.city or "", s.status, numbers.get(s.version_id, "") if s.version_id else "",
                             s.content_hash or "", _iso(s.confirmed_at),
                             identity.confirmation_line(s) if s.confirmed_at else ""]
        if include_emails:
            row.append(s.contact_email)
        rows.append(row)
    return csvio.write(header, rows)


def get_shown_while_open(*, session: Session, letter: Letter) -> list[Signature]:
    """Who else has signed, for the signing page (when the lead allows it)."""
    if not letter.show_signatories_while_open:
        return []
    return get_listed(session=session, letter=letter)

