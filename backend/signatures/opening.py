"""Opening and closing a letter for signatures, and how it collects them (lead only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from backend.accounts.models import User
from backend.audit import service as audit
from backend.campaigns.policy import Action
from backend.errors import Conflict, InvalidInput
from backend.letters.enums import LetterStatus
from backend.letters.models import Letter
from backend.signatures.access import require


def set_status(*, session: Session, letter: Letter, status: str, user: User, ip: str | None) -> None:
    """Opens a letter for signatures or closes it (lead only)."""
    require(session=session, letter=letter, user=user, action=Action.change_settings)
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
    require(session=session, letter=letter, user=user, action=Action.change_settings)
    changes = {}
    for name, value in vars(values).items():
        if getattr(letter, name) != value:
            changes[name] = value
            setattr(letter, name, value)
    session.add(letter)
    if changes:
        audit.record(session=session, action="signing_settings_changed", actor=audit.actor_of(user),
                     actor_user_id=user.id, subject_type="letter", subject_id=letter.id, ip=ip, details=changes)
