"""A withdrawn or declined organisation can be invited again, with a clear prompt."""

from __future__ import annotations

import re

import pytest

from tests.day.helpers import path_of, shot, to_letter
from tests.signatures.helpers import audit_actions, open_letter, signatures

pytestmark = pytest.mark.browser


def _sign_link(mail) -> str:
    return path_of(next(x for x in mail.links() if "/sign/" in x))


def test_declined_organisation_invited_again(page, live_server, smtp, db, make_user, axe_check):
    setup = open_letter(db, make_user)
    to_letter(page, setup.lead, setup.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Signatories").click()
    page.fill("#f-invites", "Gamma Group, gamma@gamma.example")
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    dashboard = page.url
    first = _sign_link(smtp.wait_for(1, to="gamma@gamma.example")[0])
    page.goto(first)
    page.fill("#f-reason", "Our trustees meet next month.")
    page.get_by_role("button", name="Decline to sign").click()
    page.wait_for_load_state()

    # Pasting the address again says what to do instead of "already invited".
    page.goto(dashboard)
    page.fill("#f-invites", "Gamma Group, gamma@gamma.example")
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    assert "declined earlier: use “Invite again”" in page.content()

    page.get_by_role("link", name="Invite again Gamma Group").click()
    page.get_by_role("heading", name="Invite Gamma Group again?").wait_for()
    assert "Our trustees meet next month." in page.content()
    axe_check(page)
    shot(page, "10-invite-again")
    page.get_by_role("button", name="Invite Gamma Group again").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    assert "Gamma Group is invited again" in page.content()
    assert "Gamma Group" in page.locator('tr[data-state="invited"]').inner_text()
    assert "invited_again" in audit_actions(db)

    # The new invite's link signs; the old one is spent.
    second = _sign_link(smtp.wait_for(2, to="gamma@gamma.example")[-1])
    page.context.clear_cookies()
    page.goto(first)
    assert page.get_by_role("button", name="Sign the letter").count() == 0
    page.goto(second)
    page.fill("#f-signer_name", "Gail Gamma")
    page.fill("#f-signer_role", "Chair")
    page.check("#f-attested")
    page.get_by_role("button", name="Sign the letter").click()
    page.wait_for_url(re.compile(r"/sign/sent$"))
    assert [s.status for s in signatures(db)] == ["pending"]
