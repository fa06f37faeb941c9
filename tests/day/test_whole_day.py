"""The whole day in one journey, clicking from the campaigns page: draft the letter, invite two organisations,
one signs and approves, the text changes, it approves again, the other declines, the letter is sent, the embargo
is moved, a reply from another body is recorded, the letter is published at the embargo, and the press link sent
by email works before it."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from tests.day.helpers import log_in, path_of, shot

pytestmark = pytest.mark.browser

BODY = "We write to ask you to protect the right to protest.\n\nIt matters to everyone."


def _link(mail, part: str, ending: str | None = None) -> str:
    for link in mail.links():
        if part in link and (link.endswith(ending) if ending else not link.endswith("/withdraw")):
            return path_of(link)
    raise AssertionError(f"no {part} link in {mail.text}")


def _london(delta: timedelta) -> tuple[str, str]:
    from backend.db import utcnow
    from backend.publishing.service import LONDON

    at = (utcnow() + delta).astimezone(LONDON)
    return at.strftime("%Y-%m-%d"), at.strftime("%H:%M")


def test_a_campaigners_day(page, live_server, smtp, db, make_user, axe_check, clock):
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns

    lead = make_user(email="lead@lead.example", name="Lena Lead", organisation="Lead Charity")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaigns.create(session=db, title="Right to protest", lead_organisation=org, created_by=lead)
    db.commit()
    nav = page.locator("nav.subnav")

    # Draft, from the campaigns page.
    log_in(page, lead)
    page.goto("/campaigns")
    page.get_by_role("link", name="Right to protest", exact=True).click()
    page.get_by_role("link", name="Write a letter").click()
    page.fill("#f-title", "Protect the right to protest")
    page.fill("#f-new-0-name", "Rt Hon Jane Doe MP")
    page.fill("#f-new-0-position", "Home Secretary")
    page.fill("#f-new-0-organisation", "Home Office")
    page.fill("#f-subject", "The right to protest")
    page.fill("#f-body", BODY)
    day, hour = _london(timedelta(days=2))
    page.fill("#f-embargo_date", day)
    page.fill("#f-embargo_time", hour)
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/overview$"))
    assert "open the letter for signatures" in page.locator(".next-step").inner_text()

    # Invite two organisations.
    nav.get_by_role("link", name="Signatories").click()
    page.get_by_role("button", name="Open for signatures").click()
    page.fill("#f-invites", "Alpha Aid, alpha@alpha.example\nBeta Trust, beta@beta.example")
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    alpha_sign = _link(smtp.wait_for(1, to="alpha@alpha.example")[0], "/sign/")
    beta_sign = _link(smtp.wait_for(1, to="beta@beta.example")[0], "/sign/")

    # Alpha signs and approves.
    page.goto(alpha_sign)
    page.fill("#f-signer_name", "Ann Alpha")
    page.fill("#f-signer_role", "Chief Executive")
    page.check("#f-attested")
    page.get_by_role("button", name="Sign the letter").click()
    page.wait_for_url(re.compile(r"/sign/sent$"))
    page.goto(_link(smtp.wait_for(2, to="alpha@alpha.example")[-1], "/confirm/"))
    page.get_by_role("button", name="Confirm our signature").click()
    page.wait_for_url(re.compile(r"/manage/"))

    # The text changes: the form says who will be asked again; Alpha approves the new text.
    page.goto("/campaigns")
    page.get_by_role("link", name="Protect the right to protest").first.click()
    nav.get_by_role("link", name="Edit").click()
    assert "1 signatory has approved the current text." in page.locator("#asked-again").inner_text()
    page.fill("#f-body", BODY.replace("protect the right", "defend the right"))
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/overview$"))
    reconfirm = smtp.wait_for(4, to="alpha@alpha.example")[-1]
    assert "has changed" in reconfirm.subject
    page.goto(_link(reconfirm, "/confirm/"))
    page.get_by_role("button", name="Approve the new text").click()
    page.wait_for_url(re.compile(r"/manage/"))

    # Beta declines; the lead hears of it.
    page.goto(beta_sign)
    page.fill("#f-reason", "Our trustees meet next month.")
    page.get_by_role("button", name="Decline to sign").click()
    assert "declined to sign" in smtp.wait_for(1, to=lead.email)[0].subject

    # A press link goes by email, and works before the embargo.
    page.goto("/campaigns")
    page.get_by_role("link", name="Protect the right to protest").first.click()
    overview = page.locator("dl.meta").inner_text()
    assert "1 signed" in overview and "1 declined" in overview
    nav.get_by_role("link", name="Publish", exact=True).click()
    page.fill("#f-journalist", "Jo Journalist")
    page.fill("#f-email", "jo@daily.example")
    page.get_by_role("button", name="Create a press link").click()
    press = _link(smtp.wait_for(1, to="jo@daily.example")[0], "/press/")

    # Send (by post), then move the embargo: Jo is told.
    nav.get_by_role("link", name="Sending and replies").click()
    page.get_by_role("link", name="Send the letter").click()
    page.locator("input[id$='-post']").first.check()
    page.get_by_role("button", name="Check before sending").click()
    page.get_by_role("button", name="Send the letter now").click()
    page.get_by_role("heading", name="Tracking the reply").wait_for()
    nav.get_by_role("link", name="Publish", exact=True).click()
    day, hour = _london(timedelta(days=3))
    page.fill("#f-embargo_date", day)
    page.fill("#f-embargo_time", hour)
    page.get_by_role("button", name="Move the embargo").click()
    page.wait_for_url(re.compile(r"/publish$"))
    assert smtp.wait_for(2, to="jo@daily.example")[-1].subject.startswith("Embargo moved")

    # A reply from another body.
    nav.get_by_role("link", name="Sending and replies").click()
    page.get_by_role("link", name="Record a response from Rt Hon Jane Doe MP").click()
    page.get_by_label("Public statement").check()
    page.get_by_label("Their organisation").fill("Metropolitan Police Service")
    page.get_by_label("Summary").fill("The Met will review its approach")
    page.get_by_label("Full text").fill("We have read the letter.\nWe will review our approach.")
    page.get_by_role("button", name="Record the response").click()
    page.get_by_role("heading", name="Public statement from Metropolitan Police Service").wait_for()

    # Scheduled at the embargo; before it the press link works, after it the public page is there.
    page.get_by_role("link", name=re.compile("Tracking:")).click()
    nav.get_by_role("link", name="Publish", exact=True).click()
    page.get_by_role("button", name="Schedule at embargo").click()
    page.wait_for_url(re.compile(r"/publish$"))
    axe_check(page)
    shot(page, "day-publish")
    page.context.clear_cookies()
    page.goto(press)
    assert "EMBARGOED UNTIL" in page.content()
    clock(timedelta(days=3, minutes=5))
    deadline = time.monotonic() + 60
    while "/press/" in page.url and time.monotonic() < deadline:
        page.goto(press)
        time.sleep(0.3)
    assert re.search(r"/letters/protect-the-right-to-protest$", page.url), page.url
    assert "Public statement from Metropolitan Police Service" in page.content()
    assert "Alpha Aid" in page.content() and "Beta Trust" not in page.content()
    axe_check(page)
    shot(page, "day-public")
