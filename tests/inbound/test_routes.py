"""Reviewing a reply on its letter, the holding pen, and the downloads."""

from __future__ import annotations

from sqlmodel import select

from backend.config import get_settings
from backend.inbound import sources
from backend.inbound.models import InboundMessage
from backend.responses.models import Response
from tests.inbound.conftest import PDF, reply


def _one(db) -> InboundMessage:
    db.rollback()
    db.expire_all()
    return db.exec(select(InboundMessage)).one()


def test_the_lead_files_a_reply_as_a_substantive_public_response(client, db, sent, engine, login, post):
    sources.take(settings=get_settings(),
                 engine=engine, raw=reply(to=sent.reply_to, text="We will legislate to protect protest.",
                                          attachments=[("reply.pdf", "application/pdf", PDF)]), source="smtp")
    message = _one(db)
    login(client, sent.lead)
    tracking = client.get(f"/letters/{sent.letter.slug}/tracking").text
    assert "To review" in tracking and f"/letters/{sent.letter.slug}/inbound/{message.id}" in tracking
    url = f"/letters/{sent.letter.slug}/inbound/{message.id}"
    page = client.get(url).text
    assert "We will legislate to protect protest." in page and "reply.pdf" in page
    bad = post(client, f"{url}/file", {"kind": "", "summary": "x"}, page=url)
    assert bad.status_code == 422 and "Choose what kind of reply this is." in bad.text
    done = post(client, f"{url}/file", {"kind": "substantive_reply", "summary": "They will legislate",
                                        "is_public": "yes"}, page=url)
    assert done.status_code == 303, done.text
    db.rollback()
    [response] = db.exec(select(Response)).all()
    assert (response.kind, response.is_public, response.summary) == ("substantive_reply", True, "They will legislate")
    assert response.body == "We will legislate to protect protest." and response.attachment_name == "reply.pdf"
    db.refresh(sent.link)
    assert sent.link.reply_status == "replied"
    message = _one(db)
    assert message.state == "filed" and message.response_id == response.id
    again = post(client, f"{url}/file", {"kind": "refusal", "summary": "x"},
                 page=f"/letters/{sent.letter.slug}/tracking")
    assert again.status_code == 422 and "already been filed" in again.text


def test_a_senders_markup_is_shown_as_text_never_as_html(client, db, sent, engine, login):
    sources.take(settings=get_settings(),
                 engine=engine, raw=reply(to=sent.reply_to, text="<script>alert(1)</script> <b>bold</b>"),
                 source="smtp")
    message = _one(db)
    login(client, sent.lead)
    page = client.get(f"/letters/{sent.letter.slug}/inbound/{message.id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in page and "<script>alert" not in page


def test_attachments_and_the_raw_message_are_downloads(client, db, sent, engine, login):
    sources.take(settings=get_settings(),
                 engine=engine, raw=reply(to=sent.reply_to, attachments=[("a.pdf", "application/pdf", PDF)]),
                 source="smtp")
    message = _one(db)
    login(client, sent.lead)
    url = f"/letters/{sent.letter.slug}/inbound/{message.id}"
    page = client.get(url).text
    import re

    [href] = re.findall(r'href="([^"]+/attachments/\d+)"', page)
    got = client.get(href)
    assert got.content == PDF
    assert got.headers["content-disposition"] == 'attachment; filename="a.pdf"'
    assert got.headers["x-content-type-options"] == "nosniff"
    raw = client.get(f"{url}/raw")
    assert raw.headers["content-disposition"].startswith("attachment;") and raw.content == message.raw


def test_a_held_message_is_assigned_to_a_letter_then_reviewed(client, db, sent, engine, login, post):
    sources.take(settings=get_settings(),
                 engine=engine, raw=reply(to="press@lead.example", subject="Your letter on protest"),
                 source="imap")
    message = _one(db)
    assert message.state == "holding"
    login(client, sent.lead)
    assert "/inbound" in client.get(f"/letters/{sent.letter.slug}/tracking").text
    pen = client.get("/inbound").text
    assert "Your letter on protest" in pen and "Protect the right to protest: Home Secretary" in pen
    bad = post(client, f"/inbound/{message.id}/assign", {"letter_recipient_id": "999"}, page="/inbound")
    assert bad.status_code == 422 and "Choose a letter and recipient you lead." in bad.text
    done = post(client, f"/inbound/{message.id}/assign", {"letter_recipient_id": str(sent.link.id)},
                page="/inbound")
    assert done.status_code == 303 and done.headers["location"].endswith(f"/inbound/{message.id}")
    assert _one(db).state == "to_review"
    assert "Nothing is waiting." in client.get("/inbound").text


def test_a_held_message_can_be_discarded_and_strangers_see_no_pen(client, db, sent, engine, login, post, make_user):
    sources.take(settings=get_settings(), engine=engine, raw=reply(to="press@lead.example"), source="imap")
    message = _one(db)
    stranger = make_user(email="someone@else.example", organisation="Elsewhere")
    login(client, stranger)
    assert client.get("/inbound").status_code == 403
    client.cookies.clear()
    login(client, sent.lead)
    gone = post(client, f"/inbound/{message.id}/discard", page="/inbound")
    assert gone.status_code == 303 and gone.headers["location"] == "/inbound", gone.headers
    assert _one(db).state == "discarded"


def test_an_out_of_office_is_shown_as_such_and_not_counted(client, db, sent, engine, login):
    sources.take(settings=get_settings(),
                 engine=engine, raw=reply(to=sent.reply_to, subject="Out of Office: The right to protest",
                                          text="I am away until Monday."), source="smtp")
    login(client, sent.lead)
    tracking = client.get(f"/letters/{sent.letter.slug}/tracking").text
    assert "Automatic reply, not an answer" in tracking
    db.refresh(sent.link)
    assert sent.link.reply_status == "awaiting"
