"""A response has its own author: the Met's statement answers a letter sent to the Home Secretary."""

from __future__ import annotations

import re

import pytest

from backend.config import get_settings
from tests.day.helpers import sent_letter, shot, to_letter

pytestmark = pytest.mark.browser


def test_service_keeps_the_author_and_refuses_a_position_alone(db, make_user):
    from backend.responses import replies, timeline, tracking

    ready = sent_letter(db, make_user)
    data = replies.ResponseInput(received_on=tracking.today(), kind="public_statement", summary="A statement",
                                 author_position="Commissioner")
    with pytest.raises(replies.ResponseErrors) as caught:
        replies.record_response(settings=get_settings(),
                                session=db, letter=ready.letter, letter_recipient_id=ready.link.id, data=data,
                                user=ready.lead)
    assert "author_name" in caught.value.errors
    db.rollback()
    response = replies.record_response(settings=get_settings(),
        session=db, letter=ready.letter, letter_recipient_id=ready.link.id, user=ready.lead,
        data=replies.ResponseInput(received_on=tracking.today(), kind="public_statement", summary="A statement",
                                   author_name="Sir Mark Rowley", author_position="Commissioner",
                                   author_organisation="Metropolitan Police Service"))
    db.commit()
    assert response.letter_recipient_id == ready.link.id
    [entry] = [e for e in timeline.timeline(session=db, letter=ready.letter, public=True) if e.kind == "response"]
    assert entry.title == ("Public statement from Sir Mark Rowley, Commissioner, Metropolitan Police Service "
                           "(on the letter to Rt Hon Jane Doe MP)")


def test_statement_from_another_body(page, live_server, smtp, db, make_user, axe_check, client):
    ready = sent_letter(db, make_user)
    to_letter(page, ready.lead, ready.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Sending and replies").click()
    page.get_by_role("link", name="Record a response from Rt Hon Jane Doe MP").click()
    page.get_by_label("Public statement").check()
    page.get_by_label("Their organisation").fill("Metropolitan Police Service")
    page.get_by_label("Their position").fill("Commissioner")
    page.get_by_label("Name of the person who wrote it").fill("Sir Mark Rowley")
    page.get_by_label("Summary").fill("The Met will review its approach to protest policing")
    # Point 8: a pasted statement keeps its single line breaks.
    page.get_by_label("Full text").fill("Statement from the Met.\nIssued today.\n\nWe will review our approach.")
    axe_check(page)
    shot(page, "06-response-form")
    page.get_by_role("button", name="Record the response").click()
    page.get_by_role("heading", name="Public statement from Sir Mark Rowley").wait_for()
    assert "Commissioner, Metropolitan Police Service" in page.locator("dl.meta").inner_text()
    assert "Rt Hon Jane Doe MP" in page.locator("dl.meta").inner_text()
    assert page.locator(".response-text br").count() == 1 and page.locator(".response-text p").count() == 2
    axe_check(page)
    shot(page, "06-response")
    # The reply status of the Home Secretary's letter moves on, and the tracking page credits the Met.
    page.get_by_role("link", name=re.compile("Tracking:")).click()
    assert "Metropolitan Police Service" in page.locator(".timeline").inner_text()
