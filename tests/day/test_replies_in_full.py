"""The public page and the API show public responses in full, with their commitments; pasted line breaks stay."""

from __future__ import annotations

import re

import pytest

from backend.config import get_settings
from tests.day.helpers import sent_letter, shot, to_letter

pytestmark = pytest.mark.browser

STATEMENT = ("We have received the coalition's letter.\nWe will respond in due course.\n\n"
             "The Met remains committed to lawful protest.")


def _published_with_replies(db, make_user):
    from backend.publishing import service as publishing
    from backend.responses import pledges, replies, tracking

    ready = sent_letter(db, make_user)
    response = replies.record_response(settings=get_settings(),
        session=db, letter=ready.letter, letter_recipient_id=ready.link.id, user=ready.lead,
        data=replies.ResponseInput(received_on=tracking.today(), kind="public_statement",
                                   summary="The Met will review its approach", body=STATEMENT,
                                   author_organisation="Metropolitan Police Service"))
    pledges.add_commitment(session=db, letter=ready.letter, response_id=response.id,
                           text="Review the policing of protest", due_on=None, user=ready.lead)
    replies.record_response(settings=get_settings(),
        session=db, letter=ready.letter, letter_recipient_id=ready.link.id, user=ready.lead,
        data=replies.ResponseInput(received_on=tracking.today(), kind="acknowledgement", summary="Private note",
                                   body="Not for the public", is_public=False))
    publishing.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    return ready


def test_api_gives_full_text_and_commitments(db, make_user, client):
    ready = _published_with_replies(db, make_user)
    [reply] = client.get(f"/api/v1/letters/{ready.letter.slug}/responses").json()
    assert reply["author"] == "Metropolitan Police Service" and reply["recipient"] == "Rt Hon Jane Doe MP"
    assert reply["body_markdown"] == STATEMENT
    assert "letter.<br" in reply["body_html"] and reply["body_html"].count("<p>") == 2
    assert [c["text"] for c in reply["commitments"]] == ["Review the policing of protest"]


def test_public_page_shows_replies_in_full(page, live_server, smtp, db, make_user, axe_check):
    ready = _published_with_replies(db, make_user)
    to_letter(page, ready.lead, ready.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Public page and press").click()
    page.get_by_role("link", name="See the public page").click()
    page.wait_for_url(re.compile(rf"/letters/{ready.letter.slug}$"))
    reply = page.locator("article.reply")
    assert reply.count() == 1
    assert "Public statement from Metropolitan Police Service" in reply.inner_text()
    assert reply.locator(".response-text br").count() == 1
    assert reply.locator(".response-text p").count() == 2
    assert "Review the policing of protest" in reply.locator(".reply-commitments").inner_text()
    assert "Not for the public" not in page.content()
    axe_check(page)
    reply.screenshot(path="/tmp/16-shots/07-reply.png")
    shot(page, "07-public")
