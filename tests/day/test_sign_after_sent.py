"""A sign link opened after the letter was sent shows a clear "this letter has been sent" page, not an error."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from backend.config import get_settings
from tests.day.helpers import path_of, shot, to_letter
from tests.signatures.helpers import open_letter

pytestmark = pytest.mark.browser


def test_invite_link_after_sending(page, live_server, smtp, db, make_user, axe_check):
    from backend.letters import service as letters
    from backend.letters.models import LetterRecipient, Recipient
    from backend.responses import dispatch, tracking

    setup = open_letter(db, make_user)
    letters.set_recipients(session=db, letter=setup.letter, recipients=[
        Recipient(name="Rt Hon Jane Doe MP", position="Home Secretary")])
    db.commit()
    to_letter(page, setup.lead, setup.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Signatories").click()
    page.fill("#f-invites", "Late Trust, late@late.example")
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    link = path_of(next(x for x in smtp.wait_for(1, to="late@late.example")[0].links() if "/sign/" in x))
    lr = db.exec(select(LetterRecipient).where(LetterRecipient.letter_id == setup.letter.id)).one()
    db.refresh(setup.letter)
    dispatch.send(settings=get_settings(), session=db, letter=setup.letter, user=setup.lead,
                   choices=[dispatch.SendChoice(lr.id, "post", sent_on=tracking.today())])
    db.commit()

    page.context.clear_cookies()
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.get_by_role("heading", name="This letter has been sent").is_visible()
    assert "no longer takes signatures" in page.content()
    axe_check(page)
    shot(page, "14-sent")
