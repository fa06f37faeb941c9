"""The send and tracking pages: who may do what, and bad input that is refused with clear messages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from backend.accounts import service as accounts
from backend.campaigns import service as campaigns
from backend.config import get_settings
from backend.db import utcnow
from backend.letters import service as letters
from backend.letters.models import LetterRecipient, Recipient
from backend.responses import dispatch, overdue, pledges, replies, tracking
from backend.responses.models import Commitment, CommitmentEvidence, Dispatch, Holiday, Response, ResponseRevision
from backend.signatures.models import Signature

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def coalition(db, make_user):
    """A letter with two recipients, and a lead, an editor, a viewer and an outsider."""
    lead = make_user(email="lead@example.org", name="Lena Lead", organisation="Equal Voices")
    editor = make_user(email="editor@example.org", name="Ed Editor", organisation="Fair Policing")
    viewer = make_user(email="viewer@example.org", name="Vi Viewer", organisation="Watching Brief")
    outsider = make_user(email="out@example.org", name="Out Sider", organisation="Elsewhere")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaign = campaigns.create(session=db, title="Met Commissioner", lead_organisation=org, created_by=lead)
    campaigns.add_member(session=db, campaign=campaign, role="editor",
                         organisation=accounts.organisations_of(session=db, user_id=editor.id)[0])
    campaigns.add_member(session=db, campaign=campaign, role="viewer",
                         organisation=accounts.organisations_of(session=db, user_id=viewer.id)[0])
    letter = letters.create(session=db, campaign=campaign, title="Letter to the Home Secretary")
    version = letters.save_version(
        session=db, letter=letter, author_id=lead.id, base_version_id=None,
        text=letters.LetterText("Dear Home Secretary,", "Recruiting the next Commissioner",
                                "We write about **trust**.", "Yours sincerely,"),
    )
    letters.set_recipients(session=db, letter=letter, recipients=[
        Recipient(name="Home Secretary", position="Secretary of State for the Home Department",
                  recipient_organisation="Home Office", email="homesec@example.gov.uk"),
        Recipient(name="Commissioner", position="Commissioner of Police of the Metropolis",
                  recipient_organisation="Metropolitan Police", email=None),
    ])
    db.add(Signature(letter_id=letter.id, version_id=version.id, content_hash=version.content_hash,
                     kind="organisation", display_name="Equal Voices", name_key="equal voices",
                     signer_name="Sam Signer", signer_role="Chair", contact_email="sam@equal.example",
                     email_key="sam@equal.example", status="approved", approved_at=utcnow(),
                     notify_updates=True))  # they ticked "tell me about replies"
    db.commit()
    home, met = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == letter.id)
                        .order_by(LetterRecipient.position)).all()
    return {"lead": lead, "editor": editor, "viewer": viewer, "outsider": outsider, "letter": letter,
            "home": home, "met": met}


def _send_by_post(db, c, days_ago=3):
    dispatch.send(settings=get_settings(), session=db, letter=c["letter"], user=c["lead"], choices=[
        dispatch.SendChoice(c["home"].id, "post", sent_on=tracking.today() - timedelta(days=days_ago))])
    db.commit()


def _reply(db, c):
    response = replies.record_response(settings=get_settings(),
        session=db, letter=c["letter"], letter_recipient_id=c["home"].id, user=c["lead"],
        data=replies.ResponseInput(tracking.today(), "substantive_reply", "They will meet us", "Full *text*."))
    db.commit()
    return response


# Authorisation -------------------------------------------------------------------------------------------

def _pages(c, response_id):
    slug = c["letter"].slug
    return [f"/letters/{slug}/tracking", f"/letters/{slug}/tracking/{c['home'].id}/due",
            f"/letters/{slug}/responses/{response_id}", f"/letters/{slug}/responses/{response_id}?revisions=1"]


def test_anonymous_visitors_are_sent_to_log_in(client, db, coalition):
    _send_by_post(db, coalition)
    response = _reply(db, coalition)
    slug = coalition["letter"].slug
    for url in [*_pages(coalition, response.id), f"/letters/{slug}/send",
                f"/letters/{slug}/responses/new?recipient={coalition['home'].id}", "/admin/holidays"]:
        answer = client.get(url)
        assert answer.status_code in (302, 303, 307), url
        assert answer.headers["location"].startswith("/login"), url


def test_outsiders_are_refused(client, db, coalition, login, post):
    _send_by_post(db, coalition)
    response = _reply(db, coalition)
    login(client, coalition["outsider"])
    for url in _pages(coalition, response.id):
        assert client.get(url).status_code == 404, url  # as for a letter that does not exist
    # Nor may they download the attachment or post anything.
    slug = coalition["letter"].slug
    assert post(client, f"/letters/{slug}/tracking/{coalition['home'].id}/still-waiting", {},
                page="/campaigns").status_code == 404
    assert client.get("/admin/holidays").status_code == 403


def test_viewers_read_but_do_not_edit(client, db, coalition, login, post):
    _send_by_post(db, coalition)
    response = _reply(db, coalition)
    login(client, coalition["viewer"])
    for url in _pages(coalition, response.id):
        assert client.get(url).status_code == 200, url
    slug = coalition["letter"].slug
    page = client.get(f"/letters/{slug}/tracking").text
    assert "Record a response" not in page and "Save the status" not in page and "Send the letter" not in page
    assert "Edit the response" not in client.get(f"/letters/{slug}/responses/{response.id}").text
    assert client.get(f"/letters/{slug}/send").status_code == 403
    assert client.get(f"/letters/{slug}/responses/new?recipient={coalition['home'].id}").status_code == 403
    answer = post(client, f"/letters/{slug}/tracking/{coalition['home'].id}/status", {"reply_status": "declined"},
                  page=f"/letters/{slug}/tracking")
    assert answer.status_code == 403
    answer = post(client, f"/letters/{slug}/responses/{response.id}/commitments", {"new-text": "Sneaky"},
                  page=f"/letters/{slug}/tracking")
    assert answer.status_code == 403
    assert db.exec(select(Commitment)).all() == []


def test_editors_track_but_only_the_lead_sends(client, db, coalition, login, post):
    _send_by_post(db, coalition)
    login(client, coalition["editor"])
    slug = coalition["letter"].slug
    home = coalition["home"]
    assert client.get(f"/letters/{slug}/send").status_code == 403
    page = client.get(f"/letters/{slug}/tracking").text
    assert "Record a response" in page and "Send the letter" not in page
    answer = post(client, f"/letters/{slug}/tracking/{home.id}/status", {"reply_status": "partial"},
                  page=f"/letters/{slug}/tracking")
    assert answer.status_code == 303
    db.refresh(home)
    assert home.reply_status == "partial"


def test_the_lead_sends_after_a_confirmation_step(client, db, coalition, login, post):
    login(client, coalition["lead"])
    slug = coalition["letter"].slug
    home, met = coalition["home"], coalition["met"]
    form = client.get(f"/letters/{slug}/send").text
    assert "homesec@example.gov.uk" in form
    assert f'id="channel-{met.id}-email"' not in form  # no address, no email option
    posted = (tracking.today() - timedelta(days=2)).isoformat()
    choices = {f"channel-{home.id}": "email", f"channel-{met.id}": "post", f"sent_on-{met.id}": posted,
               f"proof-{met.id}": "RM AB123456789GB"}
    check = post(client, f"/letters/{slug}/send", {**choices, "step": "check"})
    assert check.status_code == 200
    assert "goes out straight away" in check.text and "Send the letter now" in check.text
    assert db.exec(select(Dispatch)).all() == []  # nothing sent yet
    db.commit()  # end the read, so the next one sees the app's writes
    sent = post(client, f"/letters/{slug}/send", {**choices, "step": "send"}, page=f"/letters/{slug}/send")
    assert sent.status_code == 303 and sent.headers["location"] == f"/letters/{slug}/tracking"
    dispatches = db.exec(select(Dispatch).order_by(Dispatch.id)).all()
    assert [d.channel for d in dispatches] == ["email", "post"]
    assert dispatches[1].sent_on.isoformat() == posted and dispatches[1].proof == "RM AB123456789GB"
    page = client.get(f"/letters/{slug}/tracking").text
    assert "Awaiting reply" in page and "How these dates were counted" in page
    # Sending again needs a reason.
    again = post(client, f"/letters/{slug}/send", {f"channel-{home.id}": "post", "step": "send"},
                 page=f"/letters/{slug}/send")
    assert again.status_code == 422 and "To send it again, say why" in again.text
    db.commit()
    assert len(db.exec(select(Dispatch)).all()) == 2
    db.commit()
    again = post(client, f"/letters/{slug}/send", {f"channel-{home.id}": "post", "step": "send",
                                                   "again_reason": "The email bounced"},
                 page=f"/letters/{slug}/send")
    assert again.status_code == 303
    assert db.exec(select(Dispatch).order_by(Dispatch.id.desc())).first().reason == "The email bounced"


def test_send_form_refuses_bad_choices(client, db, coalition, login, post):
    login(client, coalition["lead"])
    slug = coalition["letter"].slug
    met = coalition["met"]
    nothing = post(client, f"/letters/{slug}/send", {"step": "send"})
    assert nothing.status_code == 422 and "Choose at least one recipient" in nothing.text
    no_email = post(client, f"/letters/{slug}/send", {f"channel-{met.id}": "email", "step": "send"})
    assert no_email.status_code == 422 and "has no email address" in no_email.text
    future = (tracking.today() + timedelta(days=3)).isoformat()
    later = post(client, f"/letters/{slug}/send", {f"channel-{met.id}": "post", f"sent_on-{met.id}": future,
                                                   f"proof-{met.id}": "kept proof", "step": "send"})
    assert later.status_code == 422 and "cannot be in the future" in later.text
    assert 'value="kept proof"' in later.text  # typed values are shown again
    bad_date = post(client, f"/letters/{slug}/send", {f"channel-{met.id}": "post", f"sent_on-{met.id}": "soon",
                                                      "step": "send"})
    assert bad_date.status_code == 422 and "real date" in bad_date.text
    assert db.exec(select(Dispatch)).all() == []


# Due dates -----------------------------------------------------------------------------------------------

def test_the_due_date_page_lists_skipped_days(client, db, coalition, login):
    c = coalition
    dispatch.send(settings=get_settings(), session=db, letter=c["letter"], user=c["lead"],
                 choices=[dispatch.SendChoice(c["home"].id, "post", sent_on=date(2025, 12, 19))])
    db.commit()
    login(client, c["viewer"])
    page = client.get(f"/letters/{c['letter'].slug}/tracking/{c['home'].id}/due").text
    assert "Christmas Day" in page and "Boxing Day" in page and "Saturday" in page
    assert "Friday 19 December 2025" in page


# Responses -----------------------------------------------------------------------------------------------

def _response_form(c):
    return f"/letters/{c['letter'].slug}/responses/new?recipient={c['home'].id}"


def test_a_response_dated_before_dispatch_is_refused_with_everything_kept(client, db, coalition, login, post):
    _send_by_post(db, coalition, days_ago=3)
    login(client, coalition["editor"])
    early = (tracking.today() - timedelta(days=10)).isoformat()
    answer = post(client, _response_form(coalition), {
        "received_on": early, "kind": "holding_reply", "summary": "We will reply <soon>",
        "body": "Thank you for your letter.\n\nA reply will follow.", "source_url": "https://example.gov.uk/r",
    })
    assert answer.status_code == 422
    assert "cannot be dated before the letter was sent" in answer.text
    assert f'value="{early}"' in answer.text and "We will reply &lt;soon&gt;" in answer.text
    assert "A reply will follow." in answer.text and "https://example.gov.uk/r" in answer.text
    assert 'value="holding_reply" id="f-kind-holding_reply" checked' in answer.text
    assert db.exec(select(Response)).all() == []


def test_several_problems_are_shown_at_once(client, db, coalition, login, post):
    _send_by_post(db, coalition)
    login(client, coalition["lead"])
    answer = post(client, _response_form(coalition), {"received_on": "31/02/2026", "summary": "",
                                                      "source_url": "javascript:alert(1)"})
    assert answer.status_code == 422
    for message in ("real date", "Choose what kind of response", "Write a one-line summary",
                    "starting with https://"):
        assert message in answer.text
    assert db.exec(select(Response)).all() == []


@pytest.mark.parametrize("name,data,message", [
    ("reply.docx", b"PK\x03\x04 not a pdf", "must be a PDF"),
    ("huge.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10), "too large"),
])
def test_an_attachment_that_is_not_a_small_pdf_is_refused(client, db, coalition, login, post, name, data, message):
    _send_by_post(db, coalition)
    login(client, coalition["lead"])
    answer = post(client, _response_form(coalition),
                  {"received_on": tracking.today().isoformat(), "kind": "substantive_reply", "summary": "A reply"},
                  files={"attachment": (name, data, "application/octet-stream")})
    assert answer.status_code == 422 and message in answer.text
    assert "Choose the file again" in answer.text and 'value="A reply"' in answer.text
    assert db.exec(select(Response)).all() == []


def test_record_edit_revisions_and_attachment_access(client, db, coalition, login, post):
    c = coalition
    _send_by_post(db, c)
    login(client, c["lead"])
    slug = c["letter"].slug
    answer = post(client, _response_form(c), {
        "received_on": tracking.today().isoformat(), "kind": "substantive_reply", "summary": "They will meet us",
        "body": "We **agree** to meet.", "is_public": "yes",
    }, files={"attachment": ("reply.pdf", PDF, "application/pdf")})
    assert answer.status_code == 303, answer.text
    response = db.exec(select(Response)).one()
    assert answer.headers["location"] == f"/letters/{slug}/responses/{response.id}"
    page = client.get(answer.headers["location"]).text
    assert "<strong>agree</strong>" in page and "reply.pdf" in page
    download = client.get(f"/letters/{slug}/responses/{response.id}/attachment")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    # Edit: the earlier text is kept and shown on request.
    edited = post(client, f"/letters/{slug}/responses/{response.id}/edit", {
        "received_on": tracking.today().isoformat(), "kind": "meeting_offered", "summary": "A meeting in March",
        "body": "Revised", "is_public": "yes"})
    assert edited.status_code == 303
    db.commit()
    assert len(db.exec(select(ResponseRevision)).all()) == 1
    page = client.get(f"/letters/{slug}/responses/{response.id}").text
    assert "Show the 1 earlier version" in page and "They will meet us" not in page
    assert "They will meet us" in client.get(f"/letters/{slug}/responses/{response.id}?revisions=1").text
    # The public may download it only once the letter is published.
    client.cookies.clear()
    assert client.get(f"/letters/{slug}/responses/{response.id}/attachment").status_code == 404
    letter = c["letter"]
    db.refresh(letter)
    letter.status = "published"
    letter.published_at = utcnow()
    db.add(letter)
    db.commit()
    assert client.get(f"/letters/{slug}/responses/{response.id}/attachment").status_code == 200
    # A private response's attachment stays private even then.
    db.refresh(response)
    response.is_public = False
    db.add(response)
    db.commit()
    assert client.get(f"/letters/{slug}/responses/{response.id}/attachment").status_code == 404


# Commitments ---------------------------------------------------------------------------------------------

def test_a_commitment_without_text_is_refused(client, db, coalition, login, post):
    _send_by_post(db, coalition)
    response = _reply(db, coalition)
    login(client, coalition["editor"])
    url = f"/letters/{coalition['letter'].slug}/responses/{response.id}/commitments"
    due = (tracking.today() + timedelta(days=30)).isoformat()
    answer = post(client, url, {"new-text": "   ", "new-due_on": due}, page=url.rsplit("/", 1)[0])
    assert answer.status_code == 422 and "Write what was promised" in answer.text
    assert f'value="{due}"' in answer.text
    assert db.exec(select(Commitment)).all() == []
    db.commit()
    added = post(client, url, {"new-text": "Meet the coalition", "new-due_on": due}, page=url.rsplit("/", 1)[0])
    assert added.status_code == 303
    assert db.exec(select(Commitment)).one().text == "Meet the coalition"


def test_commitment_updates_need_a_note(client, db, coalition, login, post):
    c = coalition
    _send_by_post(db, c)
    response = _reply(db, c)
    commitment = pledges.add_commitment(session=db, letter=c["letter"], response_id=response.id, user=c["lead"],
                                        text="Publish the criteria", due_on=None)
    db.commit()
    login(client, c["lead"])
    slug = c["letter"].slug
    page = f"/letters/{slug}/responses/{response.id}"
    url = f"/letters/{slug}/commitments/{commitment.id}"
    p = f"c{commitment.id}-"
    answer = post(client, url, {p + "status": "met", p + "note": "", p + "link": "https://example.org/criteria"},
                  page=page)
    assert answer.status_code == 422 and "Write a note" in answer.text
    assert "https://example.org/criteria" in answer.text
    bad_link = post(client, url, {p + "status": "met", p + "note": "Published", p + "link": "ftp://x"}, page=page)
    assert bad_link.status_code == 422 and "starting with https://" in bad_link.text
    assert db.exec(select(CommitmentEvidence)).all() == []
    db.commit()
    ok = post(client, url, {p + "status": "met", p + "note": "Published on GOV.UK",
                            p + "link": "https://example.org/criteria", p + "noted_on": tracking.today().isoformat()},
              page=page)
    assert ok.status_code == 303
    db.refresh(commitment)
    assert commitment.status == "met"
    tracker = client.get(f"/letters/{slug}/tracking").text
    assert "Published on GOV.UK" in tracker and "Commitment met: Publish the criteria" in tracker


# Still waiting -------------------------------------------------------------------------------------------

def test_still_waiting_is_offered_when_overdue(client, db, coalition, login, post, clock):
    c = coalition
    _send_by_post(db, c, days_ago=0)
    db.refresh(c["home"])
    clock(c["home"].due_on - tracking.today() + timedelta(days=2))
    db.commit()
    login(client, c["lead"])
    slug = c["letter"].slug
    page = client.get(f"/letters/{slug}/tracking").text
    assert "Overdue" in page and "We are still waiting" in page
    answer = post(client, f"/letters/{slug}/tracking/{c['home'].id}/still-waiting", {},
                  page=f"/letters/{slug}/tracking")
    assert answer.status_code == 303
    db.refresh(c["home"])
    assert c["home"].still_waiting_for == c["home"].due_on
    assert overdue.check_overdue(session=db) == 0


# Holidays ------------------------------------------------------------------------------------------------

def test_holidays_admin_changes_recount_due_dates(client, db, coalition, make_user, login, post):
    c = coalition
    _send_by_post(db, c, days_ago=0)
    db.refresh(c["home"])
    before = c["home"].due_on
    db.commit()
    admin = make_user(email="admin@example.org", is_admin=True)
    login(client, admin)
    # A one-off holiday inside the count moves the due date by a working day.
    extra = tracking.today() + timedelta(days=1)
    while extra.weekday() >= 5 or db.exec(select(Holiday).where(Holiday.day == extra)).first():
        extra += timedelta(days=1)
    answer = post(client, "/admin/holidays", {"region": "england-and-wales", "day": extra.isoformat(),
                                              "description": "State occasion"})
    assert answer.status_code == 303
    assert "1 due date has changed" in client.get(answer.headers["location"]).text
    db.commit()
    db.refresh(c["home"])
    assert c["home"].due_on > before
    holiday = db.exec(select(Holiday).where(Holiday.day == extra)).one()
    db.commit()
    # Editing the description; an empty one is refused.
    page = f"/admin/holidays?region=england-and-wales&year={extra.year}"
    bad = post(client, f"/admin/holidays/{holiday.id}", {"description": " "}, page=page)
    assert bad.status_code == 422 and "Say what the holiday is" in bad.text
    assert post(client, f"/admin/holidays/{holiday.id}", {"description": "Coronation"}, page=page).status_code == 303
    db.commit()
    db.refresh(holiday)
    assert holiday.description == "Coronation"
    # The same day twice is refused.
    again = post(client, "/admin/holidays", {"region": "england-and-wales", "day": extra.isoformat(),
                                             "description": "Again"}, page=page)
    assert again.status_code == 422 and "already a holiday" in again.text
    # Deleting it brings the due date back.
    assert post(client, f"/admin/holidays/{holiday.id}/delete", {}, page=page).status_code == 303
    db.commit()
    db.refresh(c["home"])
    assert c["home"].due_on == before


def test_holidays_fill_from_the_package(client, db, make_user, login, post):
    admin = make_user(email="admin@example.org", is_admin=True)
    login(client, admin)
    page = "/admin/holidays?region=scotland&year=2031"
    assert "No holidays are in the table" in client.get(page).text
    answer = post(client, "/admin/holidays/fill", {"region": "scotland", "year": "2031"}, page=page)
    assert answer.status_code == 303
    listing = client.get(answer.headers["location"]).text
    assert "Saint Andrew" in listing and "0 due dates have changed" in listing
    days = db.exec(select(Holiday).where(Holiday.region == "scotland")).all()
    assert len(days) >= 8
    db.commit()
    # Filling again adds nothing.
    answer = post(client, "/admin/holidays/fill", {"region": "scotland", "year": "2031"}, page=page)
    assert "0 holidays were added" in client.get(answer.headers["location"]).text


def test_every_form_carries_the_csrf_token(client, db, coalition, make_user, login):
    _send_by_post(db, coalition)
    response = _reply(db, coalition)
    pledges.add_commitment(session=db, letter=coalition["letter"], response_id=response.id, user=coalition["lead"],
                           text="Meet us", due_on=None)
    db.commit()
    login(client, coalition["lead"])
    slug = coalition["letter"].slug
    for url in [f"/letters/{slug}/send", f"/letters/{slug}/tracking", f"/letters/{slug}/responses/{response.id}",
                f"/letters/{slug}/responses/{response.id}/edit", _response_form(coalition)]:
        html = client.get(url).text
        assert html.count('name="csrf_token" value="') >= 2, url  # the log-out form and the page's own
        assert 'name="csrf_token" value=""' not in html, url
    client.cookies.clear()
    login(client, make_user(email="admin@example.org", is_admin=True))
    html = client.get("/admin/holidays").text
    assert 'name="csrf_token" value=""' not in html and html.count('name="csrf_token" value="') >= 3
