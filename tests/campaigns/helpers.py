"""Arranging a campaign with a coalition: a lead, an editor, a viewer and an outsider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.accounts import service as accounts
from backend.campaigns import service as campaigns
from backend.letters import service as letters
from backend.letters.models import Recipient

BODY = """We write as a coalition of charities working with people seeking asylum.

Every week we meet people who have waited more than a year for a decision.

We ask you to meet us before the end of the month."""


@dataclass
class Coalition:
    campaign: Any
    lead: Any
    editor: Any
    viewer: Any
    outsider: Any
    letter: Any = None


def arrange(db: Any, make_user: Any, with_letter: bool = True) -> Coalition:
    """A campaign led by Lead Org with an editor and a viewer organisation, an outsider, and a saved letter."""
    lead = make_user(email="lead@lead.example", name="Lena Lead", organisation="Lead Org")
    editor = make_user(email="ed@partner.example", name="Eddie Editor", organisation="Partner Org")
    viewer = make_user(email="viv@watcher.example", name="Viv Viewer", organisation="Watcher Org")
    outsider = make_user(email="out@other.example", name="Otto Outsider", organisation="Other Org")
    lead_org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaign = campaigns.create(session=db, title="Safe routes now", lead_organisation=lead_org, created_by=lead)
    campaigns.add_member(session=db, campaign=campaign,
                         organisation=accounts.organisations_of(session=db, user_id=editor.id)[0], role="editor")
    campaigns.add_member(session=db, campaign=campaign,
                         organisation=accounts.organisations_of(session=db, user_id=viewer.id)[0], role="viewer")
    other = accounts.organisations_of(session=db, user_id=outsider.id)[0]
    campaigns.create(session=db, title="Another coalition", lead_organisation=other, created_by=outsider)
    result = Coalition(campaign, lead, editor, viewer, outsider)
    if with_letter:
        letter = letters.create(session=db, campaign=campaign, title="Letter to the Home Secretary")
        letters.save_version(session=db, letter=letter, author_id=lead.id, text=letters.LetterText(
            salutation="Dear Home Secretary,", subject="Asylum decisions", body=BODY, sign_off="Yours sincerely,"))
        letters.set_recipients(session=db, letter=letter, recipients=[Recipient(
            organisation_id=lead_org.id, name="Jane Example MP", position="Home Secretary",
            recipient_organisation="Home Office")])
        result.letter = letter
    db.commit()
    return result


def fresh(db: Any) -> None:
    """Ends the test session's transaction and forgets loaded rows, to read what the app committed.

    (SQLite keeps a read snapshot for the whole transaction, and a write from a stale snapshot fails.)"""
    db.commit()
    db.expire_all()


def letter_form(**overrides: Any) -> dict[str, Any]:
    """A complete, valid letter form as a browser would send it."""
    data = {
        "title": "Letter to the Home Secretary", "new-0-name": "Jane Example MP", "new-0-position": "Home Secretary",
        "new-0-organisation": "Home Office", "new-0-email": "", "salutation": "Dear Home Secretary,",
        "subject": "Asylum decisions", "body": BODY, "sign_off": "Yours sincerely,", "action": "save",
    }
    data.update(overrides)
    return data
