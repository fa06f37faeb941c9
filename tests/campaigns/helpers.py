"""Arranging a campaign with a coalition: a lead, an editor, a viewer and an outsider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.letters.service import LetterText
from tests import factories

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
    made = factories.coalition(
        db, make_user, organisation="Lead Org", campaign="Safe routes now",
        title="Letter to the Home Secretary" if with_letter else None,
        text=LetterText(salutation="Dear Home Secretary,", subject="Asylum decisions", body=BODY,
                        sign_off="Yours sincerely,"),
        recipients=[factories.home_secretary(name="Jane Example MP")], address_book=True,
        members=[factories.Member("ed@partner.example", "Eddie Editor", "Partner Org", "editor"),
                 factories.Member("viv@watcher.example", "Viv Viewer", "Watcher Org", "viewer")])
    outsider = factories.coalition(db, make_user, lead=("out@other.example", "Otto Outsider"),
                                   organisation="Other Org", campaign="Another coalition", title=None).lead
    return Coalition(made.campaign, made.lead, made.members["ed@partner.example"],
                     made.members["viv@watcher.example"], outsider, made.letter)


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
