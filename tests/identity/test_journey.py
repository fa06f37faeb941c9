"""In a browser: a signatory renames an approved listing through the manage link; the public page keeps the
old name; the lead sees the change held, with the difference, and approves it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.signatures.helpers import open_letter, signatures

pytestmark = pytest.mark.browser


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _link(mail: Any, part: str) -> str:
    for link in mail.links():
        if part in link and not link.endswith("/withdraw"):
            return _path(link)
    raise AssertionError(f"no {part} link in {mail.text}")


def test_a_rename_after_approval_waits_for_the_lead(page: Any, live_server: Any, smtp: Any, db: Any, make_user: Any,
                                                    axe_check: Any, tmp_path: Any) -> None:
    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=True,
                        show_signatories_while_open=True)
    slug = setup.letter.slug
    sign_page = f"/letters/{slug}/sign"

    # A small group signs through the open link and confirms by the emailed link.
    page.goto(sign_page)
    page.fill("#f-display_name", "Tiny Local Group")
    page.fill("#f-signer_name", "Tess Tiny")
    page.fill("#f-signer_role", "Coordinator")
    page.fill("#f-contact_email", "tess@tiny.example")
    page.fill("#f-website", "https://tiny.example")
    page.check("#f-attested")
    page.get_by_role("button", name="Sign the letter").click()
    page.wait_for_url(re.compile(r"/sign/sent$"))
    page.goto(_link(smtp.wait_for(1, to="tess@tiny.example")[-1], "/confirm/"))
    page.get_by_role("button", name="Confirm our signature").click()
    page.wait_for_url(re.compile(r"/manage/"))
    manage = _link(smtp.wait_for(2, to="tess@tiny.example")[-1], "/manage/")

    # The lead approves it: it is listed.
    page.goto("/login")
    page.fill("#f-email", setup.lead.email)
    page.fill("#f-password", setup.lead.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(f"/letters/{slug}/signatories")
    page.get_by_role("button", name="Approve Tiny Local Group").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    page.context.clear_cookies()

    # The signatory renames the listing through the link in their receipt.
    page.goto(manage)
    page.fill("#f-display_name", "Amnesty International")
    page.fill("#f-website", "https://www.amnesty.org.uk")
    page.get_by_role("button", name="Save the listing").click()
    page.wait_for_url(re.compile(r"/manage/"))
    assert "your listing stays as it was until they approve it" in page.content()
    assert "Waiting for the coalition's approval" in page.content()
    axe_check(page)
    page.screenshot(path="/tmp/15-manage.png", full_page=True)

    # The public page keeps the old name.
    page.goto(sign_page)
    listed = page.locator(".signatories-while-open, ul").all_inner_texts()
    assert any("Tiny Local Group" in t for t in listed)
    assert "Amnesty International" not in page.content()

    # The lead sees the change held, with the difference, and approves it.
    page.goto("/login")
    page.fill("#f-email", setup.lead.email)
    page.fill("#f-password", setup.lead.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(f"/letters/{slug}/signatories")
    held = page.locator("#changes-title").locator("xpath=..")
    assert "Tiny Local Group" in held.locator("del").first.inner_text()
    assert "Amnesty International" in held.locator("ins").first.inner_text()
    assert "https://www.amnesty.org.uk" in held.inner_text()
    axe_check(page)
    page.screenshot(path="/tmp/15-dashboard.png", full_page=True)
    page.get_by_role("button", name="Approve the change of Tiny Local Group").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    assert "the listing now reads Amnesty International" in page.content()
    [s] = signatures(db)
    assert s.display_name == "Amnesty International" and s.website == "https://www.amnesty.org.uk"
    page.goto(sign_page)
    assert "Amnesty International" in page.content()


def test_pages_of_the_limits_invites_and_embargo_are_accessible(page: Any, live_server: Any, smtp: Any, db: Any,
                                                               make_user: Any, axe_check: Any) -> None:
    from backend.db import utcnow
    from backend.signatures import invites

    setup = open_letter(db, make_user, open_signon_enabled=True)
    invites.create_invites(session=db, settings=live_server.settings, letter=setup.letter,
                           text="Tiny Local Group, t@tiny.example", user=setup.lead, ip=None)
    setup.letter.embargo_at = utcnow().replace(year=utcnow().year + 1)
    db.add(setup.letter)
    db.commit()

    # The invited organisation reads, on the page its email links to, that it signs under the invited name.
    page.goto(_link(smtp.wait_for(1, to="t@tiny.example")[-1], "/sign/"))
    assert "You were invited as “Tiny Local Group”" in page.content()
    axe_check(page)

    # The lead tries to invite too many organisations at once, and reads why not.
    page.goto("/login")
    page.fill("#f-email", setup.lead.email)
    page.fill("#f-password", setup.lead.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto("/campaigns")
    page.get_by_role("link", name=setup.campaign.title).first.click()
    page.goto(f"/letters/{setup.letter.slug}/signatories")
    assert "the open link answers “not found” until it is published" in page.content()
    page.fill("#f-invites", "\n".join(f"Org {n}, o{n}@bulk.example" for n in range(100)))
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_load_state()
    assert "organisations in 24 hours" in page.content()
    axe_check(page)

    # A site admin sees the account that reached its limit.
    admin = make_user(email="admin@site.example", is_admin=True)
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("#f-email", admin.email)
    page.fill("#f-password", admin.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto("/admin")
    limits = page.locator("#limits").locator("xpath=following-sibling::table[1]")
    assert setup.lead.email in limits.inner_text()
    axe_check(page)
    page.screenshot(path="/tmp/15-admin.png", full_page=True)
