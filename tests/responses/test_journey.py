"""The lead sends the letter to two recipients (one by email, with the PDF, one by post), the reply runs late, the
daily job alerts the lead once, and the coalition records an acknowledgement and a substantive reply with two
commitments; the tracking page's timeline shows them. Every page passes the axe check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from backend.accounts import service as accounts
from backend.campaigns import service as campaigns
from backend.db import session_for_write, utcnow
from backend.letters import service as letters
from backend.letters.models import LetterRecipient, Recipient
from backend.mail.models import OutboundEmail
from backend.responses import overdue, tracking
from backend.signatures.models import Signature

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LEAD = "lead@example.org"


@pytest.fixture
def letter(db, make_user):
    lead = make_user(email=LEAD, name="Lena Lead", organisation="Equal Voices")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaign = campaigns.create(session=db, title="Met Commissioner", lead_organisation=org, created_by=lead)
    letter = letters.create(session=db, campaign=campaign, title="Letter to the Home Secretary")
    version = letters.save_version(
        session=db, letter=letter, author_id=lead.id, base_version_id=None,
        text=letters.LetterText("Dear Home Secretary,", "Recruiting the next Commissioner",
                                "We write about **trust** in policing.\n\nPlease meet us.", "Yours sincerely,"),
    )
    # The Commissioner has a longer target, so only the Home Secretary's reply runs late in this journey.
    letters.set_recipients(session=db, letter=letter, recipients=[
        Recipient(name="Home Secretary", position="Secretary of State for the Home Department",
                  recipient_organisation="Home Office", email="homesec@example.gov.uk"),
        Recipient(name="Commissioner", position="Commissioner of Police of the Metropolis",
                  recipient_organisation="Metropolitan Police", email=None, reply_target_days=60,
                  very_overdue_days=80),
    ])
    db.add(Signature(letter_id=letter.id, version_id=version.id, content_hash=version.content_hash,
                     kind="organisation", display_name="Equal Voices", name_key="equal voices",
                     signer_name="Sam Signer", signer_role="Chair", contact_email="sam@equal.example",
                     email_key="sam@equal.example", status="approved", approved_at=utcnow(),
                     notify_updates=True))  # they ticked "tell me about replies"
    db.commit()
    home, met = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == letter.id)
                        .order_by(LetterRecipient.position)).all()
    return lead, letter, home, met


def _log_in(page, lead, axe_check) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    axe_check(page)
    page.get_by_label("Email address").fill(lead.email)
    page.get_by_label("Password").fill(lead.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def test_send_wait_alert_reply_and_commitments(page, smtp, axe_check, clock, engine, db, letter):
    lead, letter, home, met = letter
    slug = letter.slug
    _log_in(page, lead, axe_check)

    # Send: by email to the Home Secretary, by post (yesterday) to the Commissioner; check, then confirm.
    page.goto(f"/letters/{slug}/send")
    axe_check(page)
    page.locator(f"#channel-{home.id}-email").check()
    page.locator(f"#channel-{met.id}-post").check()
    posted = tracking.today() - timedelta(days=1)
    page.locator(f"#f-sent_on-{met.id}").fill(posted.isoformat())
    page.locator(f"#f-proof-{met.id}").fill("Royal Mail AB123456789GB")
    page.get_by_role("button", name="Check before sending").click()
    page.get_by_role("heading", name="Send the letter now?").wait_for()
    axe_check(page)
    assert "goes out straight away" in page.content()
    page.get_by_role("button", name="Send the letter now").click()
    page.get_by_role("heading", name="Tracking the reply").wait_for()
    axe_check(page)
    assert page.locator(".state", has_text="Awaiting reply").count() == 2

    [to_home] = smtp.wait_for(1, to="homesec@example.gov.uk")
    assert to_home.subject == "Recruiting the next Commissioner"
    [(_name, ctype, data)] = to_home.attachments()
    assert ctype == "application/pdf" and data.startswith(b"%PDF")

    page.get_by_role("link", name="How these dates were counted for Home Secretary").click()
    page.get_by_role("heading", name="How the due dates for Home Secretary were counted").wait_for()
    axe_check(page)

    # Past 20 working days for the Home Secretary; the Commissioner's longer target is not reached.
    db.commit()  # end any earlier read, to see what the live server wrote
    db.refresh(home)
    db.refresh(met)
    late = home.due_on + timedelta(days=1)
    assert met.due_on > late
    clock(late - tracking.today())
    for _ in range(2):  # the daily job, twice (in a write transaction, as the worker runs it)
        with session_for_write(engine) as session:
            overdue.check_overdue(session=session)
            session.commit()
    with Session(engine) as session:
        alerts = session.exec(select(OutboundEmail).where(OutboundEmail.template == "reply_overdue")).all()
    assert len(alerts) == 1 and alerts[0].to_address == LEAD
    [alert] = smtp.wait_for(1, to=LEAD)
    assert "overdue" in alert.subject and "Home Secretary" in alert.subject

    # The session may have expired with the clock moved on: log in again.
    _log_in(page, lead, axe_check)
    page.goto(f"/letters/{slug}/tracking")
    axe_check(page)
    assert page.locator(f"#recipient-{home.id} .state").inner_text() == "Overdue"
    assert page.locator(f"#recipient-{met.id} .state").inner_text() == "Awaiting reply"

    # An acknowledgement.
    page.get_by_role("link", name="Record a response from Home Secretary").click()
    page.get_by_role("heading", name="Record a response from Home Secretary").wait_for()
    axe_check(page)
    page.get_by_label("Acknowledgement").check()
    page.get_by_label("Summary").fill("Received; a reply will follow")
    page.get_by_role("button", name="Record the response").click()
    page.get_by_role("heading", name="Acknowledgement from Home Secretary").wait_for()
    axe_check(page)

    # A substantive reply with its PDF, then two commitments from it.
    page.goto(f"/letters/{slug}/tracking")
    page.get_by_role("link", name="Record a response from Home Secretary").click()
    page.get_by_label("Substantive reply").check()
    page.get_by_label("Summary").fill("The Home Secretary agrees to meet the coalition")
    page.get_by_label("Full text").fill("Thank you for your letter.\n\nI **agree** to meet you.")
    page.get_by_label("The reply as a PDF").set_input_files(
        files=[{"name": "reply.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.get_by_role("button", name="Record the response").click()
    page.get_by_role("heading", name="Substantive reply from Home Secretary").wait_for()
    axe_check(page)
    assert page.locator(".response-text strong").inner_text() == "agree"
    for text, days in (("Meet the coalition before the appointment", 30), ("Publish the selection criteria", 0)):
        page.get_by_label("What was promised").fill(text)
        if days:
            page.get_by_label("Due date").fill((tracking.today() + timedelta(days=days)).isoformat())
        page.get_by_role("button", name="Add the commitment").click()
        page.get_by_text("The commitment has been added to the tracker.").wait_for()
    axe_check(page)
    assert page.locator("table.commitments tbody tr").count() == 2
    # Evidence that the first was met.
    first = page.locator("form.commitment-update").first
    first.get_by_label("Status").select_option("met")
    first.get_by_label("What happened").fill("We met the Home Secretary")
    first.get_by_label("Link to the evidence").fill("https://example.org/minutes")
    first.get_by_role("button", name="Add the note").click()
    page.get_by_text("The commitment has been updated.").wait_for()
    assert page.locator("table.commitments").get_by_text("We met the Home Secretary").count() == 1

    # The coalition's timeline shows it all.
    page.goto(f"/letters/{slug}/tracking")
    axe_check(page)
    timeline = page.locator("ol.timeline").inner_text()
    for expected in ("Sent to Home Secretary by email", "Sent to Commissioner by post",
                     "Acknowledgement from Home Secretary", "Substantive reply from Home Secretary",
                     "Commitment: Meet the coalition before the appointment",
                     "Commitment: Publish the selection criteria",
                     "Commitment met: Meet the coalition before the appointment"):
        assert expected in timeline
    assert page.locator(f"#recipient-{home.id} .state").inner_text() == "Replied"

    # Publication (through the publishing service): the public page shows the public timeline and commitments.
    from backend.accounts.models import User
    from backend.letters.models import Letter
    from backend.publishing import service as publishing

    with session_for_write(engine) as session:
        shown = session.get(Letter, letter.id)
        publishing.publish(session=session, letter=shown, user=session.get(User, lead.id), ip=None)
        session.commit()
    page.context.clear_cookies()
    page.goto(f"/letters/{slug}")
    axe_check(page)
    public = page.locator("ol.timeline").inner_text()
    for expected in ("Sent to Home Secretary by email", "Acknowledgement from Home Secretary",
                     "Substantive reply from Home Secretary",
                     "Commitment met: Meet the coalition before the appointment"):
        assert expected in public
    assert "First draft" not in public  # drafts stay with the coalition
    # The public page shows each commitment with its evidence (the partial of backend/commitments).
    assert page.locator(".measured-commitment").count() == 2
    assert page.locator(".measured-commitment").get_by_text("We met the Home Secretary").count() == 1
