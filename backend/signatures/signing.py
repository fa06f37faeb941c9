"""Signing: the form's rules, recording pending signatures (one or a batch) and declining an invite."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.accounts.service import normalise_email
from backend.audit import service as audit
from backend.config import Settings
from backend.db import insert_row, insert_rows_skipping_conflicts, utcnow
from backend.errors import Conflict, InvalidInput, NotFound, ServiceError, TokenInvalid
from backend.letters.models import Letter, LetterVersion
from backend.mail import service as mail
from backend.signatures import identity, logos
from backend.signatures.access import SigningLetter, SignOnLetter, open_link_works
from backend.signatures.enums import SignatureStatus, SignatureVia
from backend.signatures.listing import propose
from backend.signatures.models import Invite, Signature
from backend.signatures.rules import CONFIRM_DAYS, URL_RE, SignatureInvalid, link
from backend.signatures.tokens import issue_tokens
from backend.text import clean_line, clean_name, clean_website, fold, skeleton

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


def duplicate_of(*, session: Session, letter_id: int, kind: str, name_key: str,
                 email_key: str) -> tuple[str, str] | None:
    """The field and the message when this letter already has a signature with this name or this email."""
    same = select(Signature).where(Signature.letter_id == letter_id)
    by_name = session.exec(same.where(Signature.kind == kind).where(Signature.name_key == name_key)).first()
    if by_name is not None:
        return ("display_name" if kind == "organisation" else "signer_name",
                "This organisation has already signed or been asked to confirm: one signature per organisation. "
                "If it was you, check your email for the confirmation link."
                if kind == "organisation" else
                "Someone with this name has already signed this letter.")
    by_email = session.exec(same.where(Signature.email_key == email_key)).first()
    if by_email is not None:
        return ("contact_email",
                "This email address has already been used to sign this letter: one signature per contact email. "
                "Check your email for the confirmation link.")
    return None


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
    *, session: Session, settings: Settings, letter: SigningLetter, data: SignatureInput, invite: Invite | None = None,
    ip: str | None = None,
) -> Signed:
    """Records a pending signature and emails its contact a confirmation link (see `sign_many`)."""
    content_hash = letter.version_content_hash if isinstance(letter, SignOnLetter) else None
    outcome = sign_many(session=session, settings=settings, submissions=[SignOn(
        letter=letter, data=data, invite=invite, ip=ip, content_hash=content_hash)])[0]
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def sign_many(*, session: Session, settings: Settings, submissions: list[SignOn]) -> list[Signed | ServiceError]:
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
                values = _prepare(session=session, item=item, logo_paths=logo_paths, media_dir=settings.media_dir)
            except ServiceError as exc:
                outcomes[n] = exc
                continue
            proposed = values.pop("proposed_name")
            if proposed:
                proposals[n] = proposed
            prepared.append((n, item, values))
        recorded = _insert_signatures(session=session, prepared=prepared, outcomes=outcomes,
                                      logo_paths=logo_paths, media_dir=settings.media_dir)
        for n, sid, values in recorded:
            outcomes[n] = Signed(id=sid, contact_email=values["contact_email"])
            if n in proposals:
                propose(session=session, signature_id=sid, letter_id=values["letter_id"], kind=values["kind"],
                         display_name=proposals[n], website=values["website"])
        tokens = issue_tokens(session=session, signature_ids=[sid for _, sid, _ in recorded], purpose="confirm",
                               days=CONFIRM_DAYS)
        mail.enqueue_new(session=session, emails=[
            mail.NewEmail(to=values["contact_email"], template="signature_confirm", dedupe_key=f"sig-confirm:{sid}",
                          context={"signature": values, "letter": submissions[n].letter,
                                   "link": link(settings, f"/confirm/{token}"), "days": CONFIRM_DAYS})
            for (n, sid, values), token in zip(recorded, tokens, strict=True)])
        audit.record_many(session=session, events=[
            audit.Event(action="signature_submitted", actor=f"signatory {values['contact_email']}",
                        subject_type="signature", subject_id=sid, ip=submissions[n].ip,
                        details={"letter_id": values["letter_id"], "via": values["via"], "kind": values["kind"],
                                 "name": values["display_name"], "version_id": values["version_id"]})
            for n, sid, values in recorded])
    except BaseException:
        for path in logo_paths:
            logos.remove(path, media_dir=settings.media_dir)
        raise
    return [outcome for outcome in outcomes if outcome is not None]


def _prepare(*, session: Session, item: SignOn, logo_paths: list[str], media_dir: str) -> dict[str, Any]:
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
        logo_path = logos.store(logos.clean(clean.logo), media_dir=media_dir)
        logo_paths.append(logo_path)
    return {
        "letter_id": letter.id, "version_id": clean.version_id, "content_hash": content_hash,
        "kind": clean.kind, "display_name": display, "name_key": fold(display),
        "skeleton": skeleton(display), "hold_reason": hold, "proposed_name": proposed,
        "signer_name": clean.signer_name, "signer_role": clean.signer_role, "contact_email": clean.contact_email,
        "email_key": clean.contact_email, "website": clean.website or None, "logo_path": logo_path,
        "city": clean.city or None, "status": "pending", "via": "invite" if invite else "open",
        "invite_id": invite.id if invite else None, "attested_at": utcnow(),
        "notify_updates": clean.notify_updates,
    }


def _insert_signatures(
    *, session: Session, prepared: list[tuple[int, SignOn, dict[str, Any]]],
    outcomes: list[Signed | ServiceError | None], logo_paths: list[str], media_dir: str,
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
                outcomes[n] = _refused(exc, values, logo_paths, media_dir)
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
            outcomes[n] = _refused(_duplicate(session=session, values=values), values, logo_paths,
                                   media_dir)
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
    found = duplicate_of(session=session, letter_id=values["letter_id"], kind=values["kind"],
                         name_key=values["name_key"], email_key=values["email_key"])
    field, message = found or ("display_name", "This organisation or email address has already signed this letter.")
    return InvalidInput(message, field=field)


def _refused(exc: ServiceError, values: dict[str, Any], logo_paths: list[str], media_dir: str) -> ServiceError:
    """A refusal after the row was prepared: its logo, already stored, goes."""
    if values["logo_path"] is not None:
        logo_paths.remove(values["logo_path"])
        logos.remove(values["logo_path"], media_dir=media_dir)
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
