"""The coalition's dashboard of invites and signatures, and the CSV export."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from backend.accounts.models import User
from backend.campaigns.policy import Action, Permissions, allows
from backend.db import as_utc, utcnow
from backend.letters import service as letters
from backend.letters.models import Letter
from backend.mail import service as mail
from backend.mail.models import OutboundEmail
from backend.signatures import csvio, identity
from backend.signatures.access import require
from backend.signatures.invites import get_invites
from backend.signatures.listing import get_signatures
from backend.signatures.models import Invite, Signature
from backend.signatures.moderation import CORRECTABLE_STATES
from backend.signatures.reinvite import AGAIN_STATUSES
from backend.signatures.rules import ACTIVE_STATUSES, RESEND_CAP

ORDERABLE_STATES = ("approved", "confirmed", "needs_reconfirmation")


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
    # What the page may offer on this row, for this member (set by `dashboard`).
    can_resend: bool = False
    can_revoke: bool = False
    can_invite_again: bool = False
    can_correct: bool = False
    can_withdraw: bool = False


@dataclass(frozen=True)
class Controls:
    """What the dashboard may offer on this letter, for this member: the booleans its template reads."""

    role: str
    perms: Permissions
    can_open: bool  # open the letter for signatures
    can_close: bool  # close it
    taking_invites: bool  # invites, reminders and invites again go out now
    open_link_embargoed: bool  # the open link is on but does not answer before the embargo

    @classmethod
    def of(cls, *, letter: Letter, role: str) -> Controls:
        perms = Permissions.of(role)
        taking = letter.status == "open"
        return cls(role=role, perms=perms, can_open=perms.change_settings and letter.status in ("draft", "closed"),
                   can_close=perms.change_settings and taking, taking_invites=taking,
                   open_link_embargoed=taking and letter.open_signon_enabled and letter.embargo_at is not None)


def controls(*, session: Session, letter: Letter, user: User) -> Controls:
    """The member's controls on the dashboard; NotFound for someone outside the coalition."""
    role = require(session=session, letter=letter, user=user, action=Action.read)
    return Controls.of(letter=letter, role=role)


def _offer(row: DashboardRow, *, letter: Letter, controls: Controls) -> DashboardRow:
    """Sets what the page may offer on a row."""
    perms, s = controls.perms, row.signature
    if perms.invite and row.invite is not None and s is None and row.state in ("invited", "opened", "bounced"):
        row.can_revoke = True
        row.can_resend = controls.taking_invites and row.invite.resend_count < RESEND_CAP
    row.can_invite_again = (perms.invite and s is not None and controls.taking_invites
                            and row.state in AGAIN_STATUSES and row.kind == "organisation")
    row.can_correct = perms.moderate and s is not None and row.state in CORRECTABLE_STATES
    row.can_withdraw = perms.moderate and s is not None and row.state in ACTIVE_STATUSES
    return row


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


def dashboard(*, session: Session, letter: Letter, controls: Controls) -> tuple[list[DashboardRow], Counter[str]]:
    """One row per invite not yet answered and per signature, with its state and what may be done on it; and the
    count of each state.

    Contact emails only for members who may see them (editors and the lead): viewers see names, as in the CSV."""
    include_emails = controls.perms.see_signatory_emails
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
    return [_offer(r, letter=letter, controls=controls) for r in rows], counts


def waiting(rows: list[DashboardRow]) -> list[DashboardRow]:
    """The rows waiting for the lead's moderation (confirmed open sign-ons)."""
    return [r for r in rows if r.state == "confirmed"]


def orderable(rows: list[DashboardRow]) -> list[DashboardRow]:
    """The signatures the display order applies to: listed, or on their way to it."""
    return [r for r in rows if r.signature is not None and r.state in ORDERABLE_STATES]


def _iso(value: datetime | None) -> str:
    aware = as_utc(value)
    return aware.isoformat() if aware else ""


def export_csv(*, session: Session, letter: Letter, user: User, emails: bool) -> tuple[str, bool]:
    """The signatory list as CSV, in display order, and whether it has the contact emails: only when asked and
    the member may see them (cells safe for spreadsheets)."""
    role = require(session=session, letter=letter, user=user, action=Action.read)
    include_emails = emails and allows(role, Action.see_signatory_emails)
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
    return csvio.write(header, rows), include_emails
