"""The data most tests start from, arranged in one place: a coalition (a lead user and organisation, a campaign,
a letter with its first version and recipients, member organisations with their roles).

The helpers of each folder (`open_letter`, `ready_letter`, `arrange`, inbound's `sent`) build on `coalition`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.accounts import service as accounts
from backend.campaigns import service as campaigns
from backend.letters import service as letters
from backend.letters.models import Recipient
from backend.letters.service import LetterText

LEAD = ("lead@lead.example", "Lena Lead")
TEXT = LetterText(salutation="Dear Home Secretary,", subject="The right to protest",
                  body="We write to ask you to protect the right to protest.\n\nIt matters to everyone.",
                  sign_off="Yours sincerely,")


def home_secretary(**fields: Any) -> Recipient:
    """The usual recipient of a test letter."""
    return Recipient(**{"name": "Rt Hon Jane Doe MP", "position": "Home Secretary",
                        "recipient_organisation": "Home Office", **fields})


@dataclass(frozen=True)
class Member:
    """A member organisation to add to the coalition, with one user of it."""

    email: str
    name: str
    organisation: str
    role: str  # "editor" | "viewer" | ...


@dataclass
class Coalition:
    lead: Any
    organisation: Any  # the lead organisation
    campaign: Any
    letter: Any = None
    version: Any = None
    members: dict[str, Any] = field(default_factory=dict)  # user of each member organisation, by email


def coalition(db: Any, make_user: Callable[..., Any], *, lead: tuple[str, str] = LEAD,
              organisation: str = "Lead Charity", campaign: str = "Right to protest",
              title: str | None = "Protect the right to protest", text: LetterText = TEXT,
              recipients: Sequence[Recipient] = (), address_book: bool = False, members: Sequence[Member] = (),
              status: str | None = None, commit: bool = True, **letter_fields: Any) -> Coalition:
    """A lead user of `organisation` leading `campaign`; with `title`, a letter with version 1 of `text` and the
    `recipients` (with `address_book`, saved in the lead organisation's address book); each of `members` a user
    of an organisation added to the coalition with its role. `status` and `letter_fields` are set on the letter.
    Committed unless `commit=False` (then flushed)."""
    email, name = lead
    lead_user = make_user(email=email, name=name, organisation=organisation)
    org = accounts.organisations_of(session=db, user_id=lead_user.id)[0]
    made = Coalition(lead=lead_user, organisation=org,
                     campaign=campaigns.create(session=db, title=campaign, lead_organisation=org, created_by=lead_user))
    for member in members:
        user = make_user(email=member.email, name=member.name, organisation=member.organisation)
        campaigns.add_member(session=db, campaign=made.campaign, role=member.role,
                             organisation=accounts.organisations_of(session=db, user_id=user.id)[0])
        made.members[member.email] = user
    if title is not None:
        made.letter = letters.create(session=db, campaign=made.campaign, title=title)
        made.version = letters.save_version(session=db, letter=made.letter, author_id=lead_user.id, text=text,
                                            check_base=False)
        if recipients:
            for recipient in recipients:
                if address_book:
                    recipient.organisation_id = org.id
            letters.set_recipients(session=db, letter=made.letter, recipients=list(recipients))
        if status is not None:
            made.letter.status = status
        for key, value in letter_fields.items():
            setattr(made.letter, key, value)
        db.add(made.letter)
    if commit:
        db.commit()
    else:
        db.flush()
    return made
