"""Every link sent to an invitee works until they answer: a reminder does not kill the first invite link."""

from __future__ import annotations

import re

import pytest

from tests.day.helpers import path_of, shot, to_letter
from tests.signatures.helpers import open_letter

pytestmark = pytest.mark.browser


def _sign_link(mail) -> str:
    return path_of(next(link for link in mail.links() if "/sign/" in link))


def test_first_link_works_after_a_reminder(page, live_server, smtp, db, make_user, axe_check):
    setup = open_letter(db, make_user)
    to_letter(page, setup.lead, setup.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Signatories").click()
    page.fill("#f-invites", "Alpha Aid, alpha@alpha.example")
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    first = _sign_link(smtp.wait_for(1, to="alpha@alpha.example")[0])
    page.get_by_role("button", name="Send reminders").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    reminder = smtp.wait_for(2, to="alpha@alpha.example")[-1]
    assert reminder.subject.startswith("Reminder")
    second = _sign_link(reminder)
    assert first != second

    # Both links open the signing page.
    page.goto(second)
    assert page.get_by_role("button", name="Sign the letter").is_visible()
    page.goto(first)
    axe_check(page)
    shot(page, "09-first-link-after-reminder")
    page.fill("#f-signer_name", "Ann Alpha")
    page.fill("#f-signer_role", "Chief Executive")
    page.check("#f-attested")
    page.get_by_role("button", name="Sign the letter").click()
    page.wait_for_url(re.compile(r"/sign/sent$"))

    # Once answered, no link of the invite signs again.
    page.goto(second)
    assert "already been answered" in page.content()
