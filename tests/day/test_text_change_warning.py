"""Before saving a text that puts approved signatures on hold, the form says how many will be asked again."""

from __future__ import annotations

import re

import pytest

from tests.day.helpers import shot, to_letter
from tests.signatures.helpers import open_letter, signatures

pytestmark = pytest.mark.browser


def _approved(db, setup, name: str, email: str) -> None:
    from backend.db import utcnow
    from backend.letters.models import LetterVersion
    from backend.signatures.models import Signature

    version = db.get(LetterVersion, setup.letter.current_version_id)
    db.add(Signature(letter_id=setup.letter.id, version_id=version.id, content_hash=version.content_hash,
                     kind="organisation", display_name=name, name_key=name.casefold(), signer_name="Sam",
                     contact_email=email, email_key=email, status="approved", approved_at=utcnow()))
    db.commit()


def test_edit_form_counts_who_will_be_asked_again(page, live_server, smtp, db, make_user, axe_check):
    setup = open_letter(db, make_user)
    _approved(db, setup, "Alpha Aid", "alpha@alpha.example")
    _approved(db, setup, "Beta Trust", "beta@beta.example")
    to_letter(page, setup.lead, setup.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Edit").click()
    notice = page.locator("#asked-again").inner_text()
    assert "2 signatories have approved the current text." in notice and "asked to approve the new text" in notice
    axe_check(page)
    shot(page, "12-edit-warning")
    page.fill("#f-new-0-name", "Jane Example MP")
    page.fill("#f-new-0-position", "Home Secretary")
    body = page.input_value("#f-body")
    page.fill("#f-body", body.replace("protect the right", "defend the right"))
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/overview$"))
    assert {s.status for s in signatures(db)} == {"needs_reconfirmation"}
    page.locator("nav.subnav").get_by_role("link", name="Edit").click()
    assert page.locator("#asked-again").count() == 0
