"""The letter goes to the Home Office by email; the reply comes back over SMTP to the address the letter carried,
waits on the tracking page, and the lead files it as a substantive reply and publishes it: the public timeline
shows it. A reply nobody can match waits in the holding pen and is assigned; an out-of-office is filed as such."""

from __future__ import annotations

import re
import smtplib
import socket
import time

import pytest
from sqlmodel import select

from backend.accounts import service as accounts
from backend.campaigns import service as campaigns
from backend.db import utcnow
from backend.inbound import sources
from backend.letters import service as letters
from backend.letters.models import LetterRecipient, Recipient
from backend.signatures.models import Signature
from tests.inbound.conftest import reply

pytestmark = pytest.mark.browser


@pytest.fixture
def listener(engine, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = sources.listener(engine=engine, settings=settings, host="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def _deliver(port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("private.office@homeoffice.example", [to], raw)


def test_a_reply_files_itself_and_the_lead_publishes_it(page, smtp, axe_check, db, make_user, listener):
    lead = make_user(email="lead@lead.example", name="Lena Lead", organisation="Equal Voices")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaign = campaigns.create(session=db, title="Protest rights", lead_organisation=org, created_by=lead)
    letter = letters.create(session=db, campaign=campaign, title="Protect the right to protest")
    version = letters.save_version(session=db, letter=letter, author_id=lead.id, base_version_id=None,
                                   text=letters.LetterText("Dear Home Secretary,", "The right to protest",
                                                           "Please protect it.", "Yours sincerely,"))
    letters.set_recipients(session=db, letter=letter, recipients=[
        Recipient(name="Home Secretary", position="Secretary of State for the Home Department",
                  recipient_organisation="Home Office", email="homesec@homeoffice.example")])
    db.add(Signature(letter_id=letter.id, version_id=version.id, content_hash=version.content_hash,
                     kind="organisation", display_name="Equal Voices", name_key="equal voices",
                     signer_name="Sam Signer", signer_role="Chair", contact_email="sam@equal.example",
                     email_key="sam@equal.example", status="approved", approved_at=utcnow()))
    db.commit()
    home = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == letter.id)).one()
    slug = letter.slug

    page.goto("/login")
    page.get_by_label("Email address").fill(lead.email)
    page.get_by_label("Password").fill(lead.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()

    # The letter goes to the Home Office by email.
    page.goto(f"/letters/{slug}/overview")
    page.get_by_role("link", name="Sending and replies").click()
    page.get_by_role("link", name="Send the letter").click()
    page.locator(f"#channel-{home.id}-email").check()
    page.get_by_role("button", name="Check before sending").click()
    page.get_by_role("button", name="Send the letter now").click()
    page.get_by_role("heading", name="Tracking the reply").wait_for()
    [letter_mail] = smtp.wait_for(1, to="homesec@homeoffice.example")
    reply_to = str(letter_mail.message["Reply-To"])
    assert reply_to.startswith("reply+")

    # The Home Office answers: to the address the letter carried, over SMTP to the listener.
    _deliver(listener, reply_to, reply(
        to=reply_to, subject="Re: The right to protest",
        text="Dear Ms Lead,\n\nThe Home Secretary will bring forward a bill to protect peaceful protest.\n\n"
             "On Tue, 1 Dec 2026, Undersigned wrote:\n> Dear Home Secretary,\n> Please protect it."))
    # An out-of-office from someone copied in, and a reply sent from elsewhere that nothing can match.
    _deliver(listener, reply_to, reply(to=reply_to, subject="Out of Office: The right to protest",
                                       headers={"Auto-Submitted": "auto-replied"}, text="Away until Monday."))
    _deliver(listener, "letters@undersigned.test", reply(to="letters@undersigned.test",
                                                         subject="Your letter about protest",
                                                         text="Forwarded to the Policing Minister."))

    deadline = time.monotonic() + 60
    while "To review" not in page.content() and time.monotonic() < deadline:
        page.reload()
        time.sleep(0.5)
    axe_check(page)
    assert page.locator("li[data-state=filed]", has_text="Automatic reply, not an answer").count() == 1
    assert page.locator(".state", has_text="Awaiting reply").count() == 1, "an out-of-office is no answer"

    # The lead reviews the reply and files it as a substantive reply, public.
    page.get_by_role("link", name="Re: The right to protest").click()
    page.get_by_role("heading", name="Reply by email from Home Secretary").wait_for()
    axe_check(page)
    text = page.locator(".inbound-text").inner_text()
    assert "bring forward a bill" in text and "Please protect it." not in text, "quoted history trimmed"
    page.get_by_label("What kind of reply is it?").select_option("substantive_reply")
    page.get_by_label("One-line summary").fill("The Home Secretary will legislate to protect protest")
    page.get_by_label("Publish this reply on the letter's public page").check()
    page.get_by_role("button", name="File the reply").click()
    page.get_by_role("heading", name="Substantive reply from Home Secretary").wait_for()
    axe_check(page)

    # The unmatched reply waits in the holding pen, reached from the tracking page, and is put on the letter.
    page.get_by_role("link", name="Tracking: Protect the right to protest").click()
    assert page.locator(".state", has_text="Replied").count() >= 1
    page.get_by_role("link", name="Mail that could not be matched to a letter").click()
    page.get_by_role("heading", name="Mail that could not be matched").wait_for()
    axe_check(page)
    page.get_by_label("The letter and recipient it answers").select_option(
        label="Protect the right to protest: Home Secretary, Secretary of State for the Home Department")
    page.get_by_role("button", name="Put it on this letter").click()
    page.get_by_role("heading", name="Reply by email from Home Secretary").wait_for()
    assert "Forwarded to the Policing Minister." in page.locator(".inbound-text").inner_text()
    assert "assigned from the holding pen" in page.content()

    # Published: the public timeline shows the reply.
    page.get_by_role("link", name="Tracking: Protect the right to protest").click()
    page.get_by_role("link", name="Publish", exact=True).click()
    page.get_by_role("button", name="Publish now").click()
    page.get_by_role("link", name="See the public page").click()
    page.wait_for_url(re.compile(rf"/letters/{slug}$"))
    axe_check(page)
    assert "The Home Secretary will legislate to protect protest" in page.content()
    assert "Away until Monday" not in page.content()
