"""A partner's invitation survives sign-up and log-in: the link explains itself, the campaigns page shows the
pending invitation after verification, the accept page offers no two choices of one name, and "an editor"."""

from __future__ import annotations

import re

import pytest

from tests.day.helpers import log_in, path_of, shot
from tests.signatures.helpers import open_letter

pytestmark = pytest.mark.browser

PARTNER = "pat@partner.example"


def test_invitation_survives_sign_up(page, live_server, smtp, db, make_user, axe_check):
    setup = open_letter(db, make_user)
    log_in(page, setup.lead)
    page.goto("/campaigns")
    page.get_by_role("link", name=setup.campaign.title, exact=True).click()
    page.get_by_label("Their email address").fill(PARTNER)
    page.get_by_label("Their organisation").fill("Partner Trust")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_url(re.compile(r"/campaigns/[^/#]+(#coalition)?$"))
    mail = smtp.wait_for(1, to=PARTNER)[0]
    assert "as an editor" in mail.text
    link = path_of(next(x for x in mail.links() if "/coalition/invites/" in x))

    # The partner has no account: the link says what it is.
    page.get_by_role("button", name="Log out").click()
    page.goto(link)
    assert page.get_by_role("heading", name=f"You are invited to co-draft “{setup.campaign.title}”").is_visible()
    assert "as an editor" in page.locator("main").inner_text() and PARTNER in page.content()
    axe_check(page)
    shot(page, "15-intro")
    page.locator("main").get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name").fill("Pat Partner")
    page.get_by_label("Your work email address").fill(PARTNER)
    page.get_by_label("Choose a password").fill("correct horse battery staple")
    page.get_by_label("Your organisation's name").fill("Partner Trust")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    verify = path_of(next(x for x in smtp.wait_for(2, to=PARTNER)[-1].links() if "/verify/" in x))
    page.goto(verify)
    page.get_by_role("button", name="Confirm my email address").click()
    page.get_by_text("your email address is confirmed").wait_for()
    page.get_by_label("Email address").fill(PARTNER)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()

    # Without the link, the campaigns page has the invitation waiting.
    page.get_by_role("link", name="Campaigns").first.click()
    page.wait_for_url(re.compile(r"/campaigns$"))
    waiting = page.locator(".pending-invitations").inner_text()
    assert setup.campaign.title in waiting and "as an editor" in waiting
    axe_check(page)
    shot(page, "15-pending")
    page.get_by_role("link", name=re.compile("See the invitation")).click()
    assert page.get_by_role("radio").count() == 1  # their Partner Trust only, not a second of the same name
    axe_check(page)
    page.get_by_role("button", name="Accept the invitation").click()
    page.wait_for_url(re.compile(r"/campaigns/[^/]+$"))
    assert "Partner Trust has joined the coalition" in page.content()
    assert "Your organisation is an editor on this campaign." in page.locator("main").inner_text()
