"""Embargo and publication: press links emailed (and resent), the embargo moved after sending with the press told,
"Publish now" breaking an embargo only through a confirmation page, and a pack worded after what happened."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.day.helpers import path_of, sent_letter, shot, to_letter
from tests.signatures.helpers import audit_actions

pytestmark = pytest.mark.browser


def _london(delta: timedelta) -> tuple[str, str]:
    from backend.db import utcnow
    from backend.publishing.service import LONDON

    at = (utcnow() + delta).astimezone(LONDON)
    return at.strftime("%Y-%m-%d"), at.strftime("%H:%M")


def test_moving_the_embargo_is_checked_and_audited(db, make_user, client, login, post):
    ready = sent_letter(db, make_user, embargo_in=timedelta(days=2))
    slug = ready.letter.slug
    login(client, ready.lead)
    # The text is final after sending (the edit page refuses), but the embargo can still move.
    assert client.get(f"/letters/{slug}/edit").status_code == 409
    day, hour = _london(-timedelta(days=1))
    r = post(client, f"/letters/{slug}/publish/embargo", {"embargo_date": day, "embargo_time": hour},
             page=f"/letters/{slug}/publish")
    assert r.status_code == 422 and "must be in the future" in r.text
    day, hour = _london(timedelta(days=5))
    r = post(client, f"/letters/{slug}/publish/embargo", {"embargo_date": day, "embargo_time": hour},
             page=f"/letters/{slug}/publish")
    assert r.status_code == 303
    assert "embargo_moved" in audit_actions(db)
    # Publishing without the confirmation does not happen.
    r = post(client, f"/letters/{slug}/publish/now", {}, page=f"/letters/{slug}/publish")
    assert r.status_code == 409 and "break the embargo" in r.text.lower()
    db.refresh(ready.letter)
    assert ready.letter.status == "closed"


def test_press_link_emailed_embargo_moved_then_broken(page, live_server, smtp, db, make_user, axe_check):
    from backend.publishing.models import PressLink

    ready = sent_letter(db, make_user, embargo_in=timedelta(days=2))
    slug = ready.letter.slug
    to_letter(page, ready.lead, ready.letter.title)
    page.locator("nav.subnav").get_by_role("link", name="Publish", exact=True).click()
    page.wait_for_url(re.compile(r"/publish$"))

    # Point 5: a press link with an email is emailed; one without is only shown.
    page.fill("#f-journalist", "Jo Journalist")
    page.fill("#f-outlet", "The Daily")
    page.fill("#f-email", "jo@daily.example")
    page.get_by_role("button", name="Create a press link").click()
    assert "The link is emailed to jo@daily.example" in page.content()
    first = smtp.wait_for(1, to="jo@daily.example")[0]
    assert first.subject.startswith("Embargoed:") and "EMBARGOED UNTIL" in first.text
    press_path = path_of(next(link for link in first.links() if "/press/" in link))
    page.fill("#f-journalist", "Kim Reporter")
    page.get_by_role("button", name="Create a press link").click()
    page.wait_for_load_state()
    # Resending gives a fresh link by email.
    page.get_by_role("button", name="Email it again to Jo Journalist").click()
    page.wait_for_url(re.compile(r"/publish$"))
    resent = smtp.wait_for(2, to="jo@daily.example")[-1]
    press_path = path_of(next(link for link in resent.links() if "/press/" in link))

    # Point 4: the embargo moves after sending; the press link follows it and Jo is told.
    day, hour = _london(timedelta(days=3))
    page.fill("#f-embargo_date", day)
    page.fill("#f-embargo_time", hour)
    page.get_by_role("button", name="Move the embargo").click()
    page.wait_for_url(re.compile(r"/publish$"))
    assert "The embargo is moved" in page.content() and "Tell Kim Reporter yourself" in page.content()
    axe_check(page)
    shot(page, "04-publish-page")
    moved = smtp.wait_for(3, to="jo@daily.example")[-1]
    assert moved.subject.startswith("Embargo moved") and "Now: EMBARGOED UNTIL" in moved.text
    db.rollback()
    db.refresh(ready.letter)
    for link in db.exec(select(PressLink)).all():
        assert link.expires_at == ready.letter.embargo_at
    page.goto(press_path)
    assert "EMBARGOED UNTIL" in page.content()

    # Point 3: "Publish now" with the embargo ahead asks first, naming the press links already sent.
    page.go_back()
    page.get_by_role("link", name="Publish now…").click()
    page.wait_for_url(re.compile(r"/publish/now$"))
    holders = page.locator(".press-holders").inner_text()
    assert "Jo Journalist (The Daily): emailed at jo@daily.example" in holders and "Kim Reporter" in holders
    axe_check(page)
    shot(page, "03-confirm")
    page.get_by_role("link", name="Keep the embargo").click()
    page.wait_for_url(re.compile(r"/publish$"))
    db.refresh(ready.letter)
    assert ready.letter.status == "closed"
    page.get_by_role("link", name="Publish now…").click()
    page.get_by_role("button", name="Break the embargo and publish now").click()
    page.wait_for_url(re.compile(r"/publish$"))
    assert "before its embargo" in page.content()
    lifted = smtp.wait_for(4, to="jo@daily.example")[-1]
    assert lifted.subject.startswith("Embargo lifted") and "FOR IMMEDIATE RELEASE" in lifted.text
    assert "embargo_broken" in audit_actions(db)

    # The press pack says what happened; the press link leads to the public page.
    page.goto(press_path)
    page.wait_for_url(re.compile(rf"/letters/{slug}$"))
    body = page.request.get(press_path + "/press-pack.zip").body()
    readme = zipfile.ZipFile(io.BytesIO(body)).read(f"{slug}-press-pack/README.txt").decode()
    assert "FOR IMMEDIATE RELEASE" in readme and "EMBARGOED" not in readme
    from backend.responses.tracking import today

    assert today().strftime("%-d %B %Y") in readme
