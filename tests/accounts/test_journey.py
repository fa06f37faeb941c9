"""A person signs up in the browser, confirms the address from the email, logs out and in, resets the
password through the emailed link and logs in with the new one; every page passes the axe check."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

EMAIL = "journey@example.org"
FIRST = "correct horse battery staple"
SECOND = "a quite different passphrase"


def _path(link: str) -> str:
    parts = urlsplit(link)
    return parts.path


def _link(smtp, count: int, part: str) -> str:
    mails = smtp.wait_for(count, to=EMAIL)
    links = [link for link in mails[count - 1].links() if part in link]
    assert links, mails[count - 1].text
    return _path(links[0])


def _log_in(page, password: str, axe_check) -> None:
    page.goto("/login")
    axe_check(page)
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def test_sign_up_verify_log_out_in_reset_and_log_in_again(page, smtp, axe_check):
    page.goto("/")
    page.get_by_role("link", name="Create an account").first.click()
    page.wait_for_url("**/signup")
    axe_check(page)

    # A mistake first: the form comes back with the message and what was typed.
    page.get_by_label("Your name").fill("Journey Person")
    page.get_by_label("Your work email address").fill("not-an-email")
    page.get_by_label("Choose a password").fill(FIRST)
    page.get_by_label("Your organisation's name").fill("Journey Trust")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    assert page.get_by_label("Your name").input_value() == "Journey Person"
    axe_check(page)

    page.get_by_label("Your work email address").fill(EMAIL)
    page.get_by_label("Choose a password").fill(FIRST)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    axe_check(page)

    page.goto(_link(smtp, 1, "/verify/"))
    page.get_by_role("heading", name="Confirm your email address").wait_for()
    axe_check(page)
    page.get_by_role("button", name="Confirm my email address").click()
    page.get_by_text("your email address is confirmed").wait_for()
    axe_check(page)

    _log_in(page, FIRST, axe_check)
    page.goto("/account")
    page.get_by_role("heading", name="Your account").wait_for()
    assert "Please confirm your email address" not in page.content()
    axe_check(page)
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()
    axe_check(page)

    _log_in(page, FIRST, axe_check)
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()

    page.goto("/login")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_role("heading", name="Reset your password").wait_for()
    axe_check(page)
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send me a link").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    page.goto(_link(smtp, 2, "/reset/"))
    page.get_by_role("heading", name="Choose a new password").wait_for()
    axe_check(page)
    page.get_by_label("New password").fill(SECOND)
    page.get_by_role("button", name="Set my new password").click()
    page.get_by_role("heading", name="Log in").wait_for()
    axe_check(page)

    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(FIRST)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("The email address or password is not right.").first.wait_for()
    axe_check(page)
    _log_in(page, SECOND, axe_check)


def test_signed_in_pages_pass_the_axe_check(page, make_user, axe_check):
    admin = make_user(email=EMAIL, password=FIRST, is_admin=True, organisation="Journey Trust", verified=False)
    _log_in(page, FIRST, axe_check)
    page.get_by_text("Please confirm your email address.").wait_for()  # the banner of an unconfirmed account
    for path, heading in [("/account", "Your account"), ("/account/password", "Change your password"),
                          ("/organisations/journey-trust", "Journey Trust"), ("/admin", "Site admin"),
                          ("/admin/organisations/journey-trust", "Journey Trust")]:
        page.goto(path)
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        axe_check(page)
    # An error state too.
    page.goto("/organisations/journey-trust")
    page.get_by_label("Website").fill("not a website")
    page.get_by_role("button", name="Save details").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    axe_check(page)
    assert admin.email == EMAIL
