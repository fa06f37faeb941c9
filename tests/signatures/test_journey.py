"""The signatories journey in a browser: invite three organisations from a CSV, two sign and confirm, one
declines, the lead changes the text, one signatory approves it and one withdraws, the dashboard shows it all."""

from __future__ import annotations

import re

import pytest

from tests.signatures.helpers import open_letter, signatures

pytestmark = pytest.mark.browser

ORGS = [("Alpha Aid", "alpha@alpha.example"), ("Beta Trust", "beta@beta.example"),
        ("Gamma Group", "gamma@gamma.example")]


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _link(mail, part: str, *, ending: str | None = None) -> str:
    for link in mail.links():
        if part in link and (ending is None or link.endswith(ending)) and (ending or not link.endswith("/withdraw")):
            return _path(link)
    raise AssertionError(f"no {part} link in {mail.text}")


def _log_in(page, user) -> None:
    page.goto("/login")
    page.fill("#f-email", user.email)
    page.fill("#f-password", user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def _sign(page, smtp, sign_path: str, email: str, signer: str, axe_check=None) -> None:
    page.goto(sign_path)
    if axe_check:
        axe_check(page)
    page.fill("#f-signer_name", signer)
    page.fill("#f-signer_role", "Chief Executive")
    page.check("#f-attested")
    page.get_by_role("button", name="Sign the letter").click()
    page.wait_for_url(re.compile(r"/sign/sent$"))
    assert "Check your email" in page.content()
    confirm = smtp.wait_for(2, to=email)[-1]
    page.goto(_link(confirm, "/confirm/"))
    if axe_check:
        axe_check(page)
    page.get_by_role("button", name="Confirm our signature").click()
    page.wait_for_url(re.compile(r"/manage/"))
    assert "your signature is confirmed" in page.content()


def test_invite_sign_decline_change_reapprove_withdraw(page, live_server, smtp, db, make_user, axe_check, tmp_path):
    setup = open_letter(db, make_user)
    slug = setup.letter.slug
    dashboard = f"/letters/{slug}/signatories"

    _log_in(page, setup.lead)
    page.goto(dashboard)
    axe_check(page)
    csv_file = tmp_path / "invites.csv"
    csv_file.write_text("Organisation,Email\n" + "".join(f"{n},{e}\n" for n, e in ORGS), encoding="utf-8")
    page.set_input_files("#f-invites-file", str(csv_file))
    page.get_by_role("button", name="Send invites").click()
    page.wait_for_url(re.compile(r"/signatories$"))
    assert "Invited 3 organisations." in page.content()

    links = {}
    for name, email in ORGS:
        mail = smtp.wait_for(1, to=email)[0]
        assert "“Lead Charity”" in mail.subject and name in mail.text
        links[email] = _link(mail, "/sign/")

    # Two sign and confirm through the emailed links; the third declines.
    _sign(page, smtp, links["alpha@alpha.example"], "alpha@alpha.example", "Ann Alpha", axe_check)
    _sign(page, smtp, links["beta@beta.example"], "beta@beta.example", "Ben Beta")
    page.goto(links["gamma@gamma.example"])
    page.fill("#f-reason", "Our trustees meet next month.")
    page.get_by_role("button", name="Decline to sign").click()
    page.wait_for_load_state()
    assert "You declined to sign" in page.content()
    for email in ("alpha@alpha.example", "beta@beta.example"):
        assert "Receipt" in smtp.wait_for(3, to=email)[-1].subject

    # The lead changes the text on the edit page.
    page.goto(f"/letters/{slug}/edit")
    page.fill("#f-new-0-name", "Jane Example MP")
    page.fill("#f-new-0-position", "Home Secretary")
    body = page.input_value("#f-body")
    page.fill("#f-body", body.replace("protect the right", "defend the right"))
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/letters/[^/]+/overview$"))

    alpha_mail = smtp.wait_for(4, to="alpha@alpha.example")[-1]
    beta_mail = smtp.wait_for(4, to="beta@beta.example")[-1]
    for mail in (alpha_mail, beta_mail):
        assert "has changed" in mail.subject and "{+defend+}" in mail.text

    page.goto(_link(alpha_mail, "/confirm/"))
    axe_check(page)
    assert "defend" in page.locator(".word-diff ins").first.inner_text()
    page.get_by_role("button", name="Approve the new text").click()
    page.wait_for_url(re.compile(r"/manage/"))
    assert "approved the new text" in page.content()

    page.goto(_link(beta_mail, "/confirm/", ending="/withdraw"))
    page.get_by_role("button", name="Withdraw our signature").click()
    page.wait_for_load_state()
    assert "Your signature is withdrawn" in page.content()

    # The dashboard shows each state.
    page.goto(dashboard)
    axe_check(page)
    assert "Alpha Aid" in page.locator('tr[data-state="approved"]').inner_text()
    assert "Beta Trust" in page.locator('tr[data-state="withdrawn"]').inner_text()
    declined = page.locator('tr[data-state="declined"]').inner_text()
    assert "Gamma Group" in declined and "trustees" in declined
    states = {s.display_name: s.status for s in signatures(db)}
    assert states == {"Alpha Aid": "approved", "Beta Trust": "withdrawn", "Gamma Group": "declined"}
    alpha = next(s for s in signatures(db) if s.display_name == "Alpha Aid")
    db.refresh(setup.letter)
    assert alpha.version_id == setup.letter.current_version_id
