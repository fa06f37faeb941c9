"""Finding your way: the signatories page is in the letter's navigation, and the lists show counts and next steps."""

from __future__ import annotations

import re

import pytest

from tests.day.helpers import log_in, shot, to_letter
from tests.signatures.helpers import invite_one, open_letter

pytestmark = pytest.mark.browser


def test_progress_counts_and_next_step(client, db, make_user, post, login):
    from backend.signatures import progress

    setup = open_letter(db, make_user)
    p = progress.get(session=db, letter=setup.letter)
    assert (p.invited, p.signed, p.declined) == (0, 0, 0)
    assert p.next_step is not None and p.next_step.href.endswith("/signatories")
    response = invite_one(client, post, login, setup, "Alpha Aid, alpha@alpha.example\nBeta Trust, beta@beta.example")
    assert response.status_code == 303
    db.rollback()
    db.expire_all()
    p = progress.get(session=db, letter=setup.letter)
    assert (p.invited, p.unanswered) == (2, 2)
    assert "2 invited organisations have not answered" in p.next_step.text  # type: ignore[union-attr]


def test_signatories_reachable_from_the_campaigns_page(page, live_server, smtp, db, make_user, axe_check):
    setup = open_letter(db, make_user)
    log_in(page, setup.lead)
    page.goto("/campaigns")
    row = page.locator("tr", has_text=setup.campaign.title)
    assert "0 invited" in row.inner_text() and "Next:" in row.inner_text()
    axe_check(page)
    shot(page, "01-campaigns")
    page.get_by_role("link", name=setup.letter.title).click()
    page.wait_for_url(re.compile(r"/overview$"))
    assert "Invite organisations to sign." in page.content()
    axe_check(page)
    shot(page, "01-overview")
    page.locator("nav.subnav").get_by_role("link", name="Signatories").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    page.fill("#f-invites", "Alpha Aid, alpha@alpha.example")
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    axe_check(page)
    shot(page, "01-signatories")
    # Back on the campaign page, the counts follow.
    page.get_by_role("link", name=setup.letter.title).first.click()
    page.get_by_role("link", name=setup.campaign.title).click()
    page.wait_for_url(re.compile(r"/campaigns/[^/]+$"))
    text = page.locator(".letter-list").inner_text()
    assert "1 invited" in text and "1 invited organisation has not answered" in text
    axe_check(page)
    shot(page, "01-campaign")


def test_overview_reached_by_clicking(page, live_server, smtp, db, make_user):
    setup = open_letter(db, make_user)
    to_letter(page, setup.lead, setup.letter.title)
    assert page.locator('[data-count="signed"]').inner_text() == "0 signed"


def test_two_letters_with_one_title_told_apart(page, live_server, smtp, db, make_user, axe_check):
    from backend.letters import service as letters

    setup = open_letter(db, make_user)
    letters.create(session=db, campaign=setup.campaign, title=setup.letter.title)
    db.commit()
    log_in(page, setup.lead)
    page.goto("/campaigns")
    facts = page.locator(".letter-facts").all_inner_texts()
    assert len(facts) == 2 and facts[0] != facts[1]
    assert any(f.startswith("(open, started") for f in facts) and any(f.startswith("(draft, started") for f in facts)
    page.get_by_role("link", name=setup.campaign.title, exact=True).click()
    page.wait_for_url(re.compile(r"/campaigns/[^/]+$"))
    assert len(set(page.locator(".letter-facts").all_inner_texts())) == 2
    axe_check(page)
