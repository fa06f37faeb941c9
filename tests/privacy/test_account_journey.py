"""In a browser: a lead organisation's only admin hands over and closes their account from their profile; a site
admin finds a person by email from the admin page; the privacy notice from the footer."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def _log_in(page: Any, user: Any) -> None:
    page.goto("/login")
    page.fill("#f-email", user.email)
    page.fill("#f-password", user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_close_an_account_after_handing_over(page: Any, db: Any, make_user: Any, axe_check: Any) -> None:
    from backend.accounts import service as accounts
    from backend.campaigns import service as campaigns

    lead = make_user(email="lena@lead.example", name="Lena Leaving", organisation="Lead Charity")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaigns.create(session=db, title="Right to protest", lead_organisation=org, created_by=lead)
    colleague = make_user(email="cal@lead.example", name="Cal Colleague")
    accounts.add_membership(session=db, user=colleague, organisation=org, role="member")
    db.commit()

    page.goto("/")
    page.get_by_role("link", name="Privacy notice").click()
    page.wait_for_url(re.compile(r"/privacy$"))
    assert "How long we keep it" in page.content()
    axe_check(page)

    _log_in(page, lead)
    page.get_by_role("link", name="Lena Leaving").click()
    page.wait_for_url(re.compile(r"/account$"))
    page.get_by_role("link", name="Close your account").click()
    page.wait_for_url(re.compile(r"/account/close$"))
    assert "Hand over first" in page.content()
    axe_check(page)
    page.select_option(f"#f-user-{org.id}", str(colleague.id))
    page.get_by_role("button", name="Make them an admin").click()
    page.wait_for_url(re.compile(r"/account/close$"))
    assert "Cal Colleague is now an admin." in page.content()
    page.fill("#f-password", lead.password)
    page.check("#f-confirm")
    page.screenshot(path="/tmp/17-close.png", full_page=True)
    page.get_by_role("button", name="Close my account").click()
    page.wait_for_url(re.compile(r"/$"))
    assert "Your account is closed" in page.content()
    db.rollback()
    assert accounts.get_by_email(session=db, email="lena@lead.example") is None


def test_subject_access_from_the_admin_page(page: Any, db: Any, make_user: Any, axe_check: Any) -> None:
    admin = make_user(is_admin=True, name="Site Admin", email="admin@site.example")
    make_user(email="pat@person.example", name="Pat Person", organisation="Person Trust")
    _log_in(page, admin)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="Subject access").click()
    page.wait_for_url(re.compile(r"/admin/privacy$"))
    page.fill("#f-email", "pat@person.example")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert "Account: Pat Person" in page.content()
    axe_check(page)
    page.screenshot(path="/tmp/17-subject.png", full_page=True)
    page.check("#f-confirm")
    page.get_by_role("button", name="Erase", exact=True).click()
    page.wait_for_load_state()
    assert "Erased: 1 account" in page.content()
