"""A decline notifies the lead, as the decline page says it does."""

from __future__ import annotations

import re

import pytest

from tests.day.helpers import path_of, to_letter
from tests.signatures.helpers import open_letter

pytestmark = pytest.mark.browser


def test_decline_emails_the_lead(page, live_server, smtp, db, make_user, axe_check):
    setup = open_letter(db, make_user)
    to_letter(page, setup.lead, setup.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Signatories").click()
    page.fill("#f-invites", "Gamma Group, gamma@gamma.example")
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    link = path_of(next(x for x in smtp.wait_for(1, to="gamma@gamma.example")[0].links() if "/sign/" in x))
    page.goto(link)
    page.fill("#f-reason", "Our trustees meet next month.")
    page.get_by_role("button", name="Decline to sign").click()
    assert "We have told the coalition" in page.content()
    [mail] = smtp.wait_for(1, to=setup.lead.email)
    assert mail.subject == f"Gamma Group declined to sign: {setup.letter.title}"
    assert "Our trustees meet next month." in mail.text
    signatories = next(x for x in mail.links() if x.endswith("/signatories"))
    page.goto(path_of(signatories))
    assert "Gamma Group" in page.locator('tr[data-state="declined"]').inner_text()
    axe_check(page)
