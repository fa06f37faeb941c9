"""On a 375 px phone the commitments table fits (the dev mailbox, development only, is in tests/test_pages.py)."""

from __future__ import annotations

import pytest

from backend.config import get_settings
from tests.day.helpers import sent_letter, shot, to_letter

pytestmark = pytest.mark.browser


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_commitments_on_a_phone(page, live_server, smtp, db, make_user, axe_check):
    from backend.publishing import service as publishing
    from backend.responses import pledges, replies, tracking

    ready = sent_letter(db, make_user)
    response = replies.record_response(settings=get_settings(),
        session=db, letter=ready.letter, letter_recipient_id=ready.link.id, user=ready.lead,
        data=replies.ResponseInput(received_on=tracking.today(), kind="substantive_reply", summary="They agree"))
    for text in ("Meet the coalition before the appointment of the next Commissioner of Police of the Metropolis",
                 "Publish the selection criteria"):
        pledges.add_commitment(session=db, letter=ready.letter, response_id=response.id, text=text,
                               due_on=tracking.today(), user=ready.lead)
    publishing.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    page.set_viewport_size({"width": 375, "height": 800})
    to_letter(page, ready.lead, ready.letter.title)
    # The public page shows commitments as cards (backend/commitments), which fit a phone.
    page.locator("nav.subnav").get_by_role("link", name="Public page and press").click()
    page.get_by_role("link", name="See the public page").click()
    assert page.locator(".measured-commitment").count() == 2
    assert _fits(page)
    page.go_back()
    # The coalition's tracking page keeps the table: each row becomes a labelled card.
    page.locator("nav.subnav").get_by_role("link", name="Sending and replies").click()
    table = page.locator("table.commitments")
    table.scroll_into_view_if_needed()
    assert _fits(page)
    box = table.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    first = table.locator("tbody td").first
    assert first.evaluate("e => getComputedStyle(e).display") == "block"
    assert first.evaluate("e => getComputedStyle(e, '::before').content") == '"Commitment: "'
    axe_check(page)
    shot(page, "21-commitments-375")

