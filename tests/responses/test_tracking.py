"""Sending the letter and tracking the reply (services): dispatch, due dates, overdue alerts, responses,
commitments and the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.accounts import service as accounts
from backend.campaigns import service as campaigns
from backend.config import get_settings
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput
from backend.letters import service as letters
from backend.letters.models import LetterRecipient, Recipient
from backend.mail.models import OutboundEmail
from backend.responses import dispatch, overdue, pledges, replies, timeline, tracking
from backend.responses.models import OverdueAlert
from backend.signatures.models import Signature

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def sent_letter(db, make_user):
    lead = make_user(email="lead@example.org", name="Lena Lead", organisation="Equal Voices")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaign = campaigns.create(session=db, title="Met Commissioner", lead_organisation=org, created_by=lead)
    letter = letters.create(session=db, campaign=campaign, title="Letter to the Home Secretary")
    version = letters.save_version(
        session=db, letter=letter, author_id=lead.id, base_version_id=None,
        text=letters.LetterText("Dear Home Secretary,", "Recruiting the next Commissioner",
                                "We write about **trust**.\n\nPlease meet us.", "Yours sincerely,"),
    )
    home = Recipient(name="Home Secretary", position="Secretary of State for the Home Department",
                     recipient_organisation="Home Office", email="homesec@example.gov.uk")
    met = Recipient(name="Commissioner", position="Commissioner of Police of the Metropolis",
                    recipient_organisation="Metropolitan Police", email=None)
    letters.set_recipients(session=db, letter=letter, recipients=[home, met])
    db.add(Signature(letter_id=letter.id, version_id=version.id, content_hash=version.content_hash,
                     kind="organisation", display_name="Equal Voices", name_key="equal voices",
                     signer_name="Sam Signer", signer_role="Chair", contact_email="sam@equal.example",
                     email_key="sam@equal.example", status="approved", approved_at=utcnow(),
                     notify_updates=True))  # they ticked "tell me about replies"
    db.commit()
    links = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == letter.id)
                    .order_by(LetterRecipient.position)).all()
    return lead, letter, links


def test_send_by_email_and_post_fixes_due_dates_and_tells_signatories(db, sent_letter, smtp, deliver):
    lead, letter, (home, met) = sent_letter
    posted = tracking.today() - timedelta(days=3)
    dispatch.send(settings=get_settings(), session=db, letter=letter, user=lead, choices=[
        dispatch.SendChoice(home.id, "email"),
        dispatch.SendChoice(met.id, "post", sent_on=posted, proof="RM tracking AB123456789GB"),
    ])
    db.commit()
    deliver()
    [to_home] = smtp.wait_for(1, to="homesec@example.gov.uk")
    assert to_home.subject == "Recruiting the next Commissioner"
    [(_name, ctype, data)] = to_home.attachments()
    assert ctype == "application/pdf" and data.startswith(b"%PDF")
    assert to_home.message["Reply-To"].startswith("reply+")
    [told] = smtp.wait_for(1, to="sam@equal.example")
    assert "has been sent" in told.subject
    db.refresh(home)
    db.refresh(met)
    db.refresh(letter)
    assert letter.status == "closed"
    assert home.due_on is not None and home.due_on > tracking.today()
    assert met.due_on is not None and met.very_overdue_on > met.due_on
    # 20 working days is at least 28 calendar days.
    assert (met.due_on - posted).days >= 28


def test_sending_twice_needs_a_reason(db, sent_letter):
    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    db.commit()
    with pytest.raises(Conflict, match="give a reason"):
        dispatch.send(settings=get_settings(),
                      session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    db.rollback()
    again = dispatch.send(settings=get_settings(),
                          session=db, letter=letter, user=lead, again_reason="Wrong address first time",
                         choices=[dispatch.SendChoice(home.id, "post")])
    assert again[0].reason == "Wrong address first time"


def test_email_to_a_recipient_without_an_address_is_refused(db, sent_letter):
    lead, letter, (_home, met) = sent_letter
    with pytest.raises(InvalidInput, match="no email address"):
        dispatch.send(settings=get_settings(),
                      session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(met.id, "email")])


def test_overdue_job_alerts_the_lead_once_per_due_date(db, sent_letter, smtp, deliver):
    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    db.commit()
    db.refresh(home)
    later = home.due_on + timedelta(days=1)
    assert tracking.reply_state(home, later) == "overdue"
    assert overdue.check_overdue(session=db, on=later) == 1
    db.commit()
    assert overdue.check_overdue(session=db, on=later) == 0  # rerun: nothing more
    db.commit()
    deliver()
    alerts = smtp.wait_for(1, to="lead@example.org")
    assert len(alerts) == 1 and "overdue" in alerts[0].subject
    assert len(db.exec(select(OverdueAlert)).all()) == 1
    # The lead says they are still waiting: no very-overdue alert for this due date either.
    overdue.confirm_still_waiting(session=db, letter=letter, letter_recipient_id=home.id, user=lead)
    db.commit()
    assert overdue.check_overdue(session=db, on=home.very_overdue_on + timedelta(days=1)) == 0


def test_very_overdue_after_the_second_target(db, sent_letter):
    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    db.commit()
    db.refresh(home)
    assert tracking.reply_state(home, home.very_overdue_on + timedelta(days=1)) == "very_overdue"
    assert tracking.reply_state(home, home.due_on) == "awaiting"


def test_responses_commitments_and_the_timeline(db, sent_letter, smtp, deliver):
    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    db.commit()
    today = tracking.today()
    replies.record_response(settings=get_settings(), session=db, letter=letter, letter_recipient_id=home.id, user=lead,
                            data=replies.ResponseInput(today, "acknowledgement", "Received, reply to follow"))
    reply = replies.record_response(settings=get_settings(),
        session=db, letter=letter, letter_recipient_id=home.id, user=lead,
        data=replies.ResponseInput(today, "substantive_reply", "The Home Secretary agrees to meet",
                                   "Full text of the reply.", "https://example.gov.uk/reply"),
        attachment=replies.Upload("reply.pdf", PDF),
    )
    first = pledges.add_commitment(session=db, letter=letter, response_id=reply.id, user=lead,
                                   text="Meet the coalition before the appointment", due_on=today + timedelta(30))
    pledges.add_commitment(session=db, letter=letter, response_id=reply.id, user=lead,
                           text="Publish the selection criteria", due_on=None)
    pledges.update_commitment(session=db, letter=letter, commitment_id=first.id, status="met",
                              note="Meeting held", link="https://example.org/minutes", user=lead)
    db.commit()
    db.refresh(home)
    assert home.reply_status == "replied"
    kinds = [e.kind for e in timeline.timeline(session=db, letter=letter, public=True)]
    assert kinds.count("response") == 2 and kinds.count("commitment") == 3 and "sent" in kinds
    assert "drafted" not in kinds  # drafts are not public
    deliver()
    received = smtp.wait_for(3, to="sam@equal.example")  # "sent", then one email per public response
    assert sorted(m.subject.split(" from ")[0] for m in received if " from Home Secretary" in m.subject) == [
        "Acknowledgement", "Substantive reply"]


def test_bad_responses_are_refused_and_nothing_is_stored(db, sent_letter):
    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    db.commit()
    before_dispatch = tracking.today() - timedelta(days=1)
    with pytest.raises(replies.ResponseErrors) as info:
        replies.record_response(settings=get_settings(),
                                session=db, letter=letter, letter_recipient_id=home.id, user=lead,
                                data=replies.ResponseInput(before_dispatch, "acknowledgement", "x"))
    assert "before the letter was sent" in info.value.errors["received_on"]
    for upload, message in [(replies.Upload("x.pdf", b"MZ\x90\x00 not a pdf"), "must be a PDF"),
                            (replies.Upload("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024)), "too large")]:
        with pytest.raises(replies.ResponseErrors) as info:
            replies.record_response(settings=get_settings(),
                                    session=db, letter=letter, letter_recipient_id=home.id, user=lead,
                                    data=replies.ResponseInput(tracking.today(), "acknowledgement", "x"),
                                    attachment=upload)
        assert message in info.value.errors["attachment"]
    with pytest.raises(InvalidInput, match="Write what was promised"):
        reply = replies.record_response(settings=get_settings(),
                                        session=db, letter=letter, letter_recipient_id=home.id, user=lead,
                                        data=replies.ResponseInput(tracking.today(), "substantive_reply", "ok"))
        pledges.add_commitment(session=db, letter=letter, response_id=reply.id, user=lead, text="  ", due_on=None)
    db.rollback()
    from backend.responses.models import Commitment, Response

    assert db.exec(select(Response)).all() == []
    assert db.exec(select(Commitment)).all() == []


def test_editing_a_response_keeps_the_earlier_text(db, sent_letter):
    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    response = replies.record_response(settings=get_settings(),
                                       session=db, letter=letter, letter_recipient_id=home.id, user=lead,
                                       data=replies.ResponseInput(tracking.today(), "holding_reply", "First"))
    replies.update_response(session=db, letter=letter, response_id=response.id, user=lead,
                            data=replies.ResponseInput(tracking.today(), "holding_reply", "Corrected"))
    db.commit()
    [(_, snapshot)] = replies.get_revisions(session=db, response_id=response.id)
    assert snapshot["summary"] == "First" and response.summary == "Corrected"


def test_due_dates_are_recounted_when_holidays_change(db, sent_letter):
    from backend.responses.models import Holiday

    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "post")])
    db.commit()
    db.refresh(home)
    before = home.due_on
    # The admin adds a one-off holiday tomorrow-ish (a weekday before the due date).
    day = tracking.today() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    db.add(Holiday(day=day, description="Extra bank holiday", region="england-and-wales", source="admin"))
    db.commit()
    assert overdue.recompute_due_dates(session=db) >= 1
    db.commit()
    db.refresh(home)
    assert home.due_on > before


def test_outbox_holds_the_letter_with_its_pdf(db, sent_letter):
    lead, letter, (home, _met) = sent_letter
    dispatch.send(settings=get_settings(),
                  session=db, letter=letter, user=lead, choices=[dispatch.SendChoice(home.id, "email")])
    db.commit()
    row = db.exec(select(OutboundEmail).where(OutboundEmail.to_address == "homesec@example.gov.uk")).one()
    assert row.reply_to and row.reply_to.startswith("reply+")
    db.refresh(home)
    assert home.reply_token_hash is not None and home.reply_token_hash not in row.reply_to
