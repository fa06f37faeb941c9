"""Publishing: publish now or at the embargo minute, the public view of a letter, press links, search."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns import policy
from backend.campaigns import service as campaigns
from backend.campaigns.policy import Action
from backend.clock import LONDON
from backend.commitments import service as measured_commitments
from backend.config import Settings
from backend.db import as_utc, utcnow
from backend.errors import Conflict, InvalidInput, NotFound, TokenInvalid
from backend.letters import service as letters
from backend.letters.markdown import render_markdown
from backend.letters.models import Letter, LetterRecipient, LetterTag, LetterVersion, PressContact, Quote, Recipient
from backend.mail import addresses
from backend.mail import service as mail
from backend.privacy.models import Erasure
from backend.publishing import revision
from backend.publishing import search as search_index
from backend.publishing.models import PressDownload, PressLink, PublicationSchedule
from backend.responses import pledges, timeline
from backend.responses.models import Commitment, CommitmentEvidence, Response
from backend.security import hash_token, new_token
from backend.signatures import listing
from backend.signatures.models import Signature

PUBLISHABLE_FROM = ("draft", "open", "closed")



# Reading ---------------------------------------------------------------------------------------------------

def get_published(*, session: Session, limit: int = 50) -> list[Letter]:
    """Published letters, newest first."""
    stmt = (
        select(Letter)
        .where(Letter.status == "published")
        .order_by(col(Letter.published_at).desc(), col(Letter.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))


def search(*, session: Session, text: str = "", recipient: str = "", organisation: str = "", tag: str = "",
           limit: int = 100) -> list[Letter]:
    """Published letters matching every given term (full text: words in any order, case ignored), newest first."""
    return search_index.search(session=session, limit=limit, query=search_index.Query(
        text=text, recipient=recipient, organisation=organisation, tag=tag))


def get_by_slug(*, session: Session, slug: str) -> Letter:
    """Any letter by its slug, or NotFound."""
    letter = letters.get_by_slug(session=session, slug=slug)
    if letter is None:
        raise NotFound("There is no letter at this address.")
    return letter


def letter_for(*, session: Session, slug: str, user: User) -> tuple[Letter, str]:
    """The letter at `slug` for a member of its coalition, with their role (NotFound for anyone else)."""
    letter = get_by_slug(session=session, slug=slug)
    return letter, policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.read)


def get_public(*, session: Session, slug: str) -> Letter:
    """A published letter by its slug; anything else is NotFound."""
    letter = letters.get_by_slug(session=session, slug=slug)
    if letter is None or letter.status != "published":
        raise NotFound("There is no letter at this address.")
    return letter


def is_member(*, session: Session, letter: Letter, user: User | None) -> bool:
    """Whether the user is in the letter's coalition (any role)."""
    return campaigns.role_of(session=session, campaign_id=letter.campaign_id, user=user) is not None


def final_version(*, session: Session, letter: Letter) -> LetterVersion:
    """The text that is (or will be) published."""
    version = letters.current_version(session=session, letter=letter)
    if version is None:
        raise NotFound("This letter has no text yet.")
    return version


def final_signatures(*, session: Session, letter: Letter) -> list[Signature]:
    """Approved signatures on the final text: organisations, then individuals, in display order.

    Once published the list is frozen: a signature approved after that moment is not added to it
    (withdrawal by the lead still takes one off).
    """
    rows = listing.get_listed(session=session, letter=letter)
    published = as_utc(letter.published_at)
    if published is None:
        return rows
    return [s for s in rows if (as_utc(s.approved_at) or published) <= published]


@dataclass
class PublicView:
    """Everything the public page and the press pack show."""

    letter: Letter
    version: LetterVersion
    signatures: list[Signature]
    recipients: list[Recipient]
    quotes: list[Quote]
    press_contact: PressContact | None
    tags: list[str]
    notes_html: Any
    timeline: list[Any] = field(default_factory=list)
    commitments: list[Any] = field(default_factory=list)
    measured: list[Any] = field(default_factory=list)  # backend.commitments: every commitment, with numbers
    names_removed: int = 0  # names removed at their owners' request after publication
    replies: list[Any] = field(default_factory=list)  # responses.timeline.PublicReply: full text, commitments


def public_view(*, session: Session, letter: Letter) -> PublicView:
    """The published (or about to be published) letter and all that goes with it; never private data."""
    letter_id: int = letter.id  # type: ignore[assignment]
    return PublicView(
        letter=letter,
        version=final_version(session=session, letter=letter),
        signatures=final_signatures(session=session, letter=letter),
        recipients=letters.get_recipients(session=session, letter_id=letter_id),
        quotes=letters.get_quotes(session=session, letter_id=letter_id),
        press_contact=letters.get_press_contact(session=session, letter_id=letter_id),
        tags=letters.get_tags(session=session, letter_id=letter_id),
        notes_html=render_markdown(letter.notes_to_editors or ""),
        timeline=timeline.timeline(session=session, letter=letter, public=True),
        commitments=pledges.get_commitments(session=session, letter=letter, public_only=True),
        measured=measured_commitments.get_tracked(session=session, letter=letter, public_only=True),
        names_removed=_names_removed(session, letter_id),
        replies=timeline.public_replies(session=session, letter=letter),
    )


def _names_removed(session: Session, letter_id: int) -> int:
    """How many listed names were removed from the published letter at their owners' request."""
    return int(session.exec(select(func.count()).select_from(Erasure).where(Erasure.letter_id == letter_id)
                            .where(col(Erasure.name_was_public).is_(True))).one())


def _latest(session: Session, stmt: Any) -> str:
    value = session.exec(stmt).one()
    if isinstance(value, tuple | list) or hasattr(value, "_mapping"):
        return "|".join(str(v) for v in value)
    return str(value)


def fingerprint(*, session: Session, letter: Letter, mode: str = "public") -> str:
    """A short hash that changes whenever anything shown publicly about the letter changes.

    `mode` separates the embargoed pack from the public one. A few aggregate queries: cheap next to rendering.
    """
    lid = letter.id
    parts = [
        mode, str(lid), str(letter.updated_at), str(letter.status), str(letter.current_version_id),
        _latest(session, select(func.count(), func.max(Signature.updated_at)).where(Signature.letter_id == lid)),
        _latest(session, select(func.count(), func.max(Quote.updated_at)).where(Quote.letter_id == lid)),
        _latest(session, select(func.count(), func.max(PressContact.updated_at)).where(PressContact.letter_id == lid)),
        _latest(session, select(func.count(), func.max(LetterTag.updated_at)).where(LetterTag.letter_id == lid)),
        _latest(session, select(func.count(), func.max(LetterRecipient.updated_at), func.max(Recipient.updated_at))
                .join(Recipient, col(Recipient.id) == LetterRecipient.recipient_id)
                .where(LetterRecipient.letter_id == lid)),
        _latest(session, select(func.count(), func.max(Response.updated_at))
                .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
                .where(LetterRecipient.letter_id == lid)),
        _latest(session, select(func.count(), func.max(Commitment.updated_at))
                .join(Response, col(Response.id) == Commitment.response_id)
                .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
                .where(LetterRecipient.letter_id == lid)),
        _latest(session, select(func.count(), func.max(CommitmentEvidence.updated_at))
                .join(Commitment, col(Commitment.id) == CommitmentEvidence.commitment_id)
                .join(Response, col(Response.id) == Commitment.response_id)
                .join(LetterRecipient, col(LetterRecipient.id) == Response.letter_recipient_id)
                .where(LetterRecipient.letter_id == lid)),
        # Measured commitments, from replies and from public documents.
        *measured_commitments.fingerprint_parts(session=session, letter=letter),
        # The timeline shows "overdue" from today's date: a new day is a change.
        utcnow().astimezone(LONDON).date().isoformat(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def signature_count(*, session: Session, letter: Letter) -> int:
    """How many signatures are listed (approved on the current text), with one query."""
    stmt = (select(func.count()).select_from(Signature).where(Signature.letter_id == letter.id)
            .where(Signature.status == "approved").where(Signature.version_id == letter.current_version_id))
    published = as_utc(letter.published_at)
    if published is not None:
        stmt = stmt.where(or_(col(Signature.approved_at).is_(None), col(Signature.approved_at) <= published))
    return int(session.exec(stmt).one())


# The embargo line ------------------------------------------------------------------------------------------

def embargo_line(*, letter: Letter, embargoed: bool) -> str:
    """"EMBARGOED UNTIL 00:01 BST, Thursday 28 April 2022" before the embargo, else "FOR IMMEDIATE RELEASE"."""
    at = as_utc(letter.embargo_at)
    if not embargoed or at is None:
        return "FOR IMMEDIATE RELEASE"
    local = at.astimezone(LONDON)
    return f"EMBARGOED UNTIL {local:%H:%M} {local.tzname()}, {local:%A} {local.day} {local:%B %Y}"


# Publishing ------------------------------------------------------------------------------------------------

def _check_publishable(*, session: Session, letter: Letter) -> None:
    if letter.status == "published":
        raise Conflict("This letter is already published.")
    if letter.status not in PUBLISHABLE_FROM:
        raise Conflict(f"This letter is {letter.status}; it cannot be published.")
    if letter.current_version_id is None:
        raise InvalidInput("Write and save the text of the letter before publishing it.")


def _claim(*, session: Session, letter_id: int, due_before: datetime | None) -> bool:
    """Marks the letter published if nobody else did: one UPDATE whose row count says who won."""
    now = utcnow()
    stmt = (update(Letter).where(col(Letter.id) == letter_id)
            .where(col(Letter.status).in_(PUBLISHABLE_FROM))
            .where(col(Letter.current_version_id).is_not(None)))
    if due_before is not None:
        stmt = stmt.where(col(Letter.embargo_at).is_not(None)).where(col(Letter.embargo_at) <= due_before)
    result = session.execute(stmt.values(status="published", published_at=now, updated_at=now))
    return bool(getattr(result, "rowcount", 0) == 1)


def _after_publication(*, session: Session, letter: Letter, actor: str, actor_user_id: int | None,
                       ip: str | None) -> None:
    """Audit, index for search, and tell every listed signatory (once: the dedupe key is per letter and signature)."""
    search_index.index_letter(session=session, letter=letter)
    signatures = final_signatures(session=session, letter=letter)
    audit.record(session=session, action="letter_published", actor=actor, actor_user_id=actor_user_id,
                 subject_type="letter", subject_id=letter.id, ip=ip,
                 details={"version_id": letter.current_version_id, "signatures": len(signatures)})
    for signature in signatures:
        mail.enqueue(session=session, to=signature.contact_email, template="letter_published",
                     context={"letter": letter, "signature": signature},
                     dedupe_key=f"letter-published:{letter.id}:{signature.id}")
    revision.bump(session=session, letter_id=letter.id)  # the public page and the press pack of the final text


def publish(*, session: Session, letter: Letter, user: User, ip: str | None) -> Letter:
    """Publishes the letter now (lead only): its current text and the approved signatures on it are final."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.publish)
    _check_publishable(session=session, letter=letter)
    if not _claim(session=session, letter_id=letter.id, due_before=None):  # type: ignore[arg-type]
        raise Conflict("This letter was published a moment ago.")
    session.refresh(letter)
    _after_publication(session=session, letter=letter, actor=audit.actor_of(user), actor_user_id=user.id, ip=ip)
    return letter


def get_schedule(*, session: Session, letter: Letter) -> PublicationSchedule | None:
    """The letter's publication schedule when one is active."""
    row = session.exec(select(PublicationSchedule).where(PublicationSchedule.letter_id == letter.id)).first()
    return row if row is not None and row.cancelled_at is None else None


def schedule(*, session: Session, letter: Letter, user: User, ip: str | None) -> PublicationSchedule:
    """Asks the scheduler to publish the letter at its embargo minute (lead only)."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.publish)
    _check_publishable(session=session, letter=letter)
    embargo = as_utc(letter.embargo_at)
    if embargo is None:
        raise InvalidInput("Set an embargo date and time on the letter first.", field="embargo")
    if embargo <= utcnow():
        raise InvalidInput("The embargo is in the past: change it, or publish now.", field="embargo")
    row = session.exec(select(PublicationSchedule).where(PublicationSchedule.letter_id == letter.id)).first()
    if row is None:
        row = PublicationSchedule(letter_id=letter.id, scheduled_by_id=user.id)  # type: ignore[arg-type]
    row.cancelled_at = None
    row.scheduled_by_id = user.id
    session.add(row)
    audit.record(session=session, action="publication_scheduled", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip, details={"embargo_at": embargo.isoformat()})
    session.flush()
    revision.bump(session=session, letter_id=letter.id)  # the embargoed press pack, built ahead of the minute
    return row


def cancel_schedule(*, session: Session, letter: Letter, user: User, ip: str | None) -> None:
    """Stops a scheduled publication (lead only)."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.publish)
    row = get_schedule(session=session, letter=letter)
    if row is None:
        raise Conflict("No publication is scheduled for this letter.")
    row.cancelled_at = utcnow()
    session.add(row)
    audit.record(session=session, action="publication_cancelled", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip)


def due_for_publication(*, session: Session) -> list[int]:
    """The scheduled letters whose embargo has come and that are not published yet."""
    return [i for i in session.exec(
        select(Letter.id).join(PublicationSchedule, col(PublicationSchedule.letter_id) == Letter.id)
        .where(col(PublicationSchedule.cancelled_at).is_(None))
        .where(col(Letter.status).in_(PUBLISHABLE_FROM))
        .where(col(Letter.embargo_at) <= utcnow())
    ).all() if i is not None]


def publish_due(*, session: Session) -> list[int]:
    """Publishes scheduled letters whose embargo has come, each exactly once even with several workers."""
    now = utcnow()
    published = []
    for letter_id in due_for_publication(session=session):
        if not _claim(session=session, letter_id=letter_id, due_before=now):
            continue
        letter = session.get(Letter, letter_id)
        assert letter is not None
        session.refresh(letter)
        _after_publication(session=session, letter=letter, actor="scheduler", actor_user_id=None, ip=None)
        published.append(letter_id)
    return published


# Press links -----------------------------------------------------------------------------------------------

def get_press_links(*, session: Session, letter: Letter) -> list[tuple[PressLink, int]]:
    """The letter's press links, newest first, each with its number of logged downloads."""
    counts = dict(session.exec(
        select(PressDownload.press_link_id, func.count()).join(PressLink, col(PressLink.id) ==
                                                                PressDownload.press_link_id)
        .where(PressLink.letter_id == letter.id).group_by(col(PressDownload.press_link_id))
    ).all())
    links = session.exec(select(PressLink).where(PressLink.letter_id == letter.id)
                         .order_by(col(PressLink.created_at).desc(), col(PressLink.id).desc())).all()
    return [(link, int(counts.get(link.id or 0, 0))) for link in links]


def _clean(value: str, limit: int) -> str:
    return " ".join((value or "").split())[:limit]


def create_press_link(*, session: Session, settings: Settings, letter: Letter, journalist: str, outlet: str,
                      email: str, user: User, ip: str | None) -> tuple[PressLink, str]:
    """A named press link until the embargo lifts (lead only), emailed to the journalist when there is an
    address; returns the row and the token to share."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.publish)
    if letter.status == "published":
        raise Conflict("This letter is published: journalists can use the public page and its press pack.")
    if letter.current_version_id is None:
        raise InvalidInput("Write and save the text of the letter first.", field="journalist")
    embargo = as_utc(letter.embargo_at)
    if embargo is None or embargo <= utcnow():
        raise InvalidInput("Set an embargo in the future on the letter before sharing press links.",
                           field="journalist")
    name = _clean(journalist, 200)
    if not name:
        raise InvalidInput("Enter the journalist's name.", field="journalist")
    address = addresses.normalise(email, field="email") if (email or "").strip() else ""
    token = new_token()
    link = PressLink(letter_id=letter.id, journalist=name, outlet=_clean(outlet, 200),  # type: ignore[arg-type]
                     email=address, token_hash=hash_token(token), expires_at=embargo, created_by_id=user.id)
    session.add(link)
    session.flush()
    audit.record(session=session, action="press_link_created", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip,
                 details={"press_link": link.id, "journalist": name, "outlet": link.outlet})
    if link.email:
        send_press_link(session=session, settings=settings, letter=letter, link=link, token=token)
    return link, token


def send_press_link(*, session: Session, settings: Settings | None = None, letter: Letter, link: PressLink,
                    token: str) -> None:
    """Emails a press link to its journalist."""
    mail.enqueue(session=session, settings=settings, to=link.email, template="press_link",
                 context={"letter": letter, "link": link, "token": token,
                          "embargo_line": embargo_line(letter=letter, embargoed=True)},
                 dedupe_key=f"press-link:{link.id}:{link.token_hash}")


def revoke_press_link(*, session: Session, letter: Letter, press_link_id: int, user: User,
                      ip: str | None) -> PressLink:
    """Revokes a press link (lead only)."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.publish)
    link = session.get(PressLink, press_link_id)
    if link is None or link.letter_id != letter.id:
        raise NotFound("There is no such press link on this letter.")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.add(link)
        audit.record(session=session, action="press_link_revoked", actor=audit.actor_of(user), actor_user_id=user.id,
                     subject_type="letter", subject_id=letter.id, ip=ip, details={"press_link": link.id})
    return link


def get_press_link_by_token(*, session: Session, token: str) -> tuple[PressLink, Letter]:
    """The press link and its letter; TokenInvalid when unknown, revoked or past the embargo."""
    link = session.exec(select(PressLink).where(PressLink.token_hash == hash_token(token))).first()
    if link is None or link.revoked_at is not None:
        raise TokenInvalid("This press link is not valid: it may have been revoked. Ask the press contact.")
    letter = session.get(Letter, link.letter_id)
    assert letter is not None
    expires = as_utc(link.expires_at)
    if letter.status == "published" or (expires is not None and expires <= utcnow()):
        raise TokenInvalid("The embargo has lifted: the letter and its press pack are on the public page.")
    return link, letter


def log_download(*, session: Session, link: PressLink, file: str, ip: str | None) -> None:
    """Logs one view or download through a press link."""
    session.add(PressDownload(press_link_id=link.id, file=file[:100], ip=(ip or "")[:64]))  # type: ignore[arg-type]
