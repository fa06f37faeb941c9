"""Inviting organisations to sign: the emailed invite links, resending, revoking, reminding."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend.accounts.models import Membership, Organisation, User
from backend.accounts.service import normalise_email
from backend.audit import service as audit
from backend.campaigns.models import CoalitionMember
from backend.campaigns.policy import Action
from backend.config import Settings
from backend.db import as_utc, session_for_write, utcnow
from backend.errors import Conflict, InvalidInput, NotFound, TokenInvalid
from backend.letters.models import Letter
from backend.mail import service as mail
from backend.security import hash_token, new_token
from backend.signatures import csvio, limits
from backend.signatures.access import lead_organisation, require
from backend.signatures.enums import InviteStatus
from backend.signatures.listing import get_signatures
from backend.signatures.models import Invite, InviteLink, Signature
from backend.signatures.rules import INVITE_DAYS, RESEND_CAP, URL_RE, link
from backend.text import clean_name

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


def _invite_context(*, session: Session, settings: Settings, invite: Invite, letter: Letter, token: str,
                    reminder: bool) -> dict[str, Any]:
    lead = lead_organisation(session=session, letter=letter)
    return {
        "inviter_quoted": quoted(_inviter_name(session=session, invite=invite, letter=letter)),
        "invite": invite, "letter": letter, "lead_name": lead.name if lead else "The coalition",
        "link": link(settings, f"/sign/{token}"), "expires_at": invite.expires_at, "reminder": reminder,
    }


def send_invite(*, session: Session, settings: Settings, invite: Invite, letter: Letter,
                reminder: bool = False) -> None:
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
        context=_invite_context(session=session, settings=settings, invite=invite, letter=letter, token=token,
                                reminder=reminder),
        dedupe_key=f"sig-invite:{invite.id}:{invite.resend_count}:{'r' if reminder else 's'}",
    )


def get_invites(*, session: Session, letter_id: int) -> list[Invite]:
    return list(session.exec(select(Invite).where(Invite.letter_id == letter_id).order_by(col(Invite.id))))


def create_invites(
    *, session: Session, settings: Settings, letter: Letter, text: str, user: User, ip: str | None,
) -> tuple[list[Invite], list[str]]:
    """Invites each "Organisation, email" row; returns the new invites and notes on rows skipped.

    Nothing is created when any row is wrong: the errors name the lines, so the lead can fix them and resend.
    """
    role = require(session=session, letter=letter, user=user, action=Action.invite)
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
    limits.check(session=session, settings=settings, user=user, role=role, wanted=len(wanted))
    for name, email in wanted:
        invite = Invite(letter_id=letter.id, organisation_name=name, email=email,  # type: ignore[arg-type]
                        token_hash=hash_token(new_token()), expires_at=utcnow(), created_by_id=user.id)
        session.add(invite)
        session.flush()
        send_invite(session=session, settings=settings, invite=invite, letter=letter)
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


def resend_invite(*, session: Session, settings: Settings, letter: Letter, invite_id: int, user: User,
                  ip: str | None) -> Invite:
    """Sends the invite again with a new link (at most RESEND_CAP times)."""
    require(session=session, letter=letter, user=user, action=Action.invite)
    invite = _invite_of_letter(session=session, letter=letter, invite_id=invite_id)
    if invite.status in ("revoked", "answered") or _answered(session=session, invite=invite):
        raise Conflict(f"The invite to {invite.organisation_name} is {invite.status}: it cannot be sent again.")
    if invite.resend_count >= RESEND_CAP:
        raise Conflict(f"The invite to {invite.organisation_name} has been sent again {RESEND_CAP} times already.")
    if letter.status != "open":
        raise Conflict("The letter is not open for signatures.")
    invite.resend_count += 1
    send_invite(session=session, settings=settings, invite=invite, letter=letter)
    audit.record(session=session, action="invite_resent", actor=audit.actor_of(user), actor_user_id=user.id,
                 subject_type="invite", subject_id=invite.id, ip=ip, details={"resend_count": invite.resend_count})
    return invite


def revoke_invite(*, session: Session, letter: Letter, invite_id: int, user: User, ip: str | None) -> Invite:
    """Makes an invite's link stop working."""
    require(session=session, letter=letter, user=user, action=Action.invite)
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


def remind_unanswered(*, session: Session, settings: Settings, letter: Letter, user: User, ip: str | None) -> int:
    """Sends one reminder to each invite not yet answered nor reminded; returns how many were sent."""
    require(session=session, letter=letter, user=user, action=Action.invite)
    if letter.status != "open":
        raise Conflict("The letter is not open for signatures.")
    count = 0
    for invite in get_invites(session=session, letter_id=letter.id):  # type: ignore[arg-type]
        if invite.status not in ("invited", "opened") or invite.reminded_at is not None:
            continue
        if _answered(session=session, invite=invite):
            continue
        invite.reminded_at = utcnow()
        send_invite(session=session, settings=settings, invite=invite, letter=letter, reminder=True)
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
