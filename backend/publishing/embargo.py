"""The embargo as its own set of actions: breaking it on purpose, moving it, and telling the press.

Until publication the embargo is a promise to the journalists who hold press links, so every change to it is
audited and reaches them by email (or the lead is told whom to tell).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns import policy
from backend.campaigns.policy import Action
from backend.config import Settings
from backend.db import as_utc, utcnow
from backend.errors import Conflict, InvalidInput
from backend.letters import service as letters
from backend.letters.models import Letter
from backend.mail import service as mail
from backend.publishing import revision, service
from backend.publishing.models import PressLink
from backend.security import hash_token, new_token


def embargo_ahead(letter: Letter) -> bool:
    """Whether publishing now would break an embargo still in the future."""
    at = as_utc(letter.embargo_at)
    return letter.status != "published" and at is not None and at > utcnow()


def broken(letter: Letter) -> bool:
    """Whether the letter was published before its embargo."""
    at, published = as_utc(letter.embargo_at), as_utc(letter.published_at)
    return at is not None and published is not None and published < at


def active_press_links(*, session: Session, letter: Letter) -> list[PressLink]:
    """The press links that still give embargoed access: not revoked, and the embargo not yet passed."""
    now = utcnow()
    links = session.exec(select(PressLink).where(PressLink.letter_id == letter.id)
                         .where(col(PressLink.revoked_at).is_(None)).order_by(col(PressLink.id))).all()
    return [link for link in links if (as_utc(link.expires_at) or now) > now]


def publish_now(*, session: Session, letter: Letter, user: User, ip: str | None, break_embargo: bool) -> Letter:
    """Publishes now; with an embargo still ahead only when the lead confirmed breaking it (audited, press told)."""
    if embargo_ahead(letter) and not break_embargo:
        raise Conflict("The embargo is still ahead: confirm that you want to break it.")
    holders = active_press_links(session=session, letter=letter) if embargo_ahead(letter) else []
    embargo = as_utc(letter.embargo_at)
    service.publish(session=session, letter=letter, user=user, ip=ip)
    if embargo is not None and broken(letter):
        audit.record(session=session, action="embargo_broken", actor=audit.actor_of(user), actor_user_id=user.id,
                     subject_type="letter", subject_id=letter.id, ip=ip,
                     details={"embargo_at": embargo.isoformat(),
                              "press_links": [{"id": h.id, "journalist": h.journalist, "outlet": h.outlet}
                                              for h in holders]})
        for link in holders:
            if link.email:
                mail.enqueue(session=session, to=link.email, template="press_embargo_lifted",
                             context={"letter": letter, "link": link,
                                      "was": service.embargo_line(letter=_at(letter, embargo), embargoed=True)},
                             dedupe_key=f"press-embargo-lifted:{link.id}")
    return letter


def _at(letter: Letter, at: datetime | None) -> Letter:
    """A copy of the letter with another embargo, to word a line about it."""
    return Letter(campaign_id=letter.campaign_id, title=letter.title, slug=letter.slug, embargo_at=at)


@dataclass
class Moved:
    emailed: list[PressLink]
    to_tell: list[PressLink]  # press links with no email: the lead tells them


def move(*, session: Session, letter: Letter, date_text: str, time_text: str, user: User,
         ip: str | None) -> Moved:
    """Moves the embargo (lead only, until publication); press links follow it and their holders are told."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.set_embargo)
    if letter.status == "published":
        raise Conflict("The letter is published: its embargo is over.")
    new_at = letters.parse_embargo(date_text=date_text, time_text=time_text)
    if new_at is None:
        raise InvalidInput("Enter the new date and time of the embargo.", field="embargo")
    if new_at <= utcnow():
        raise InvalidInput("The embargo must be in the future. To publish now, use “Publish now”.",
                           field="embargo")
    old_at = as_utc(letter.embargo_at)
    if old_at == new_at:
        raise InvalidInput("That is the embargo already set.", field="embargo")
    holders = active_press_links(session=session, letter=letter)
    letter.embargo_at = new_at
    session.add(letter)
    for link in holders:
        link.expires_at = new_at
        session.add(link)
    session.flush()
    audit.record(session=session, action="embargo_moved", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip,
                 details={"from": old_at.isoformat() if old_at else None, "to": new_at.isoformat(),
                          "press_links": [h.id for h in holders]})
    revision.bump(session=session, letter_id=letter.id)  # the embargoed press pack says when
    was = service.embargo_line(letter=_at(letter, old_at), embargoed=True) if old_at else "no embargo"
    emailed = [link for link in holders if link.email]
    for link in emailed:
        mail.enqueue(session=session, to=link.email, template="press_embargo_moved",
                     context={"letter": letter, "link": link, "was": was,
                              "now": service.embargo_line(letter=letter, embargoed=True)},
                     dedupe_key=f"press-embargo-moved:{link.id}:{new_at.isoformat()}")
    return Moved(emailed=emailed, to_tell=[link for link in holders if not link.email])


def published_letter_of(*, session: Session, token: str) -> Letter | None:
    """The published letter behind a press link that was valid (not revoked), or None."""
    link = session.exec(select(PressLink).where(PressLink.token_hash == hash_token(token or ""))).first()
    if link is None or link.revoked_at is not None:
        return None
    letter = session.get(Letter, link.letter_id)
    return letter if letter is not None and letter.status == "published" else None


def resend_press_link(*, session: Session, settings: Settings, letter: Letter, press_link_id: int, user: User,
                      ip: str | None) -> PressLink:
    """Emails a press link again, as a fresh link (only its hash is kept, so the old one cannot be re-sent)."""
    policy.require(session=session, campaign_id=letter.campaign_id, user=user, action=Action.publish)
    link = session.get(PressLink, press_link_id)
    if link is None or link.letter_id != letter.id or link.revoked_at is not None:
        raise Conflict("This press link cannot be sent again: it was revoked or does not exist.")
    if not link.email:
        raise InvalidInput("This press link has no email address to send it to.", field="journalist")
    if letter.status == "published" or not embargo_ahead(letter):
        raise Conflict("The embargo is over: journalists can use the public page and its press pack.")
    token = new_token()
    link.token_hash = hash_token(token)
    session.add(link)
    session.flush()
    service.send_press_link(session=session, settings=settings, letter=letter, link=link, token=token)
    audit.record(session=session, action="press_link_resent", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="letter", subject_id=letter.id, ip=ip, details={"press_link": link.id})
    return link
