"""Browser journey: a lead starts a campaign, invites an editor by email, both edit, history, diff, PDF."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest

from tests.campaigns.helpers import BODY

pytestmark = pytest.mark.browser


def log_in(page, user, next_path: str | None = None) -> None:
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#f-email", user.email)
    page.fill("#f-password", user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def save(page) -> None:
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/letters/[^/]+/overview$"))


def test_two_organisations_draft_a_letter_together(page, live_server, smtp, db, make_user, axe_check):
    lead = make_user(email="lena@lead.example", name="Lena Lead", organisation="Lead Org")
    editor = make_user(email="eddie@partner.example", name="Eddie Editor")

    log_in(page, lead)
    page.goto("/campaigns/new")
    axe_check(page)
    page.fill("#f-title", "Safe routes now")
    page.get_by_role("button", name="Start the campaign").click()
    page.wait_for_url(re.compile(r"/campaigns/safe-routes-now$"))
    axe_check(page)

    # Invite the editor: the email arrives through the outbox and SMTP.
    page.fill("#f-email", editor.email)
    page.fill("#f-organisation_name", "Partner Trust")
    page.select_option("#f-role", "editor")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_load_state()
    assert "Invitation sent" in page.content()
    mail = smtp.wait_for(1, to=editor.email)[0]
    link = next(x for x in mail.links() if "/coalition/invites/" in x)
    invite_path = urlsplit(link).path  # the worker's settings may name another host

    # The lead writes the letter: version 1.
    page.get_by_role("link", name="Write a letter").click()
    page.wait_for_load_state()
    axe_check(page)
    page.fill("#f-title", "Letter to the Home Secretary")
    page.fill("#f-new-0-name", "Jane Example MP")
    page.fill("#f-new-0-position", "Home Secretary")
    page.fill("#f-new-0-organisation", "Home Office")
    page.fill("#f-subject", "Asylum decisions")
    page.fill("#f-body", BODY)
    page.get_by_role("button", name="Preview").first.click()
    page.wait_for_load_state()
    assert page.locator("#live-preview").get_by_text("Every week we meet people").is_visible()
    assert page.input_value("#f-salutation") == "Dear Home Secretary,"
    axe_check(page)
    save(page)
    slug = page.url.rsplit("/", 2)[1]
    axe_check(page)
    log_out(page)

    # The editor follows the link, logs in, accepts for a new organisation, and edits: version 2.
    page.goto(invite_path)
    page.get_by_role("link", name="Log in to accept").click()
    assert "/login" in page.url
    page.fill("#f-email", editor.email)
    page.fill("#f-password", editor.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/coalition/invites/"))
    axe_check(page)
    page.get_by_role("button", name="Accept the invitation").click()
    page.wait_for_url(re.compile(r"/campaigns/safe-routes-now$"))
    assert "Partner Trust" in page.content()
    page.goto(f"/letters/{slug}/edit")
    axe_check(page)
    page.fill("#f-body", BODY.replace("more than a year", "more than two years"))
    save(page)
    log_out(page)

    # The lead edits again: version 3.
    log_in(page, lead)
    page.goto(f"/letters/{slug}/edit")
    page.fill("#f-body", BODY.replace("more than a year", "more than two years").replace("the month", "June"))
    save(page)

    page.goto(f"/letters/{slug}/versions")
    axe_check(page)
    rows = page.locator("table.versions tbody tr")
    assert rows.count() == 3
    assert "Eddie Editor" in rows.nth(1).inner_text() and "Lena Lead" in rows.nth(0).inner_text()

    page.goto(f"/letters/{slug}/diff?from=1&to=2")
    axe_check(page)

    def words(selector: str) -> list[str]:
        texts = page.locator(f".diff-text {selector}").all_text_contents()
        return [re.sub(r"^\[(added|removed): |\]$", "", t).strip() for t in texts]

    assert words("ins") == ["two", "years"]
    assert words("del") == ["a", "year"]

    # The PDF holds the subject, the body and the sign-off.
    response = page.request.get(f"/letters/{slug}/pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    from pypdf import PdfReader

    text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(response.body())).pages)
    flat = " ".join(text.split())
    assert "Asylum decisions" in flat
    assert "more than two years" in flat and "before the end of June" in flat
    assert "Yours sincerely," in flat
