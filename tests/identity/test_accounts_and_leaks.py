"""Accounts and leaks: resets end everything else, log-in slow-downs per account and address, what viewers and
outsiders see, embargoed open links, cookies, content types and the test environment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from tests.accounts.helpers import link_in
from tests.conftest import csrf_from
from tests.signatures.helpers import open_letter, sign_data

NEW = "a brand new passphrase"


def test_a_reset_ends_every_other_reset_link_and_session(client: Any, post: Any, db: Any, make_user: Any,
                                                         login: Any, smtp: Any, deliver: Any, app: Any) -> None:
    from fastapi.testclient import TestClient

    from backend.accounts.models import UserSession

    user = make_user()
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        login(other, user)  # another device
        assert post(client, "/reset", {"email": user.email}).status_code == 303
        assert post(client, "/reset", {"email": user.email}).status_code == 303
        deliver()
        older, newer = (link_in(m, "/reset/") for m in smtp.wait_for(2, to=user.email))
        assert post(client, newer, {"password": NEW}, page=newer).status_code == 303
        # The older link was sent before the reset: it must not work any more.
        assert client.get(older).status_code == 400
        db.rollback()
        assert all(s.ended_at is not None for s in db.exec(select(UserSession)))
        assert other.get("/account").status_code == 303


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(app: Any, db: Any, make_user: Any) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import form_post

    user = make_user()
    for n in range(25):
        with TestClient(app, base_url="http://testserver", follow_redirects=False,
                        client=(f"203.0.113.{n + 1}", 40000)) as attacker:
            form_post(attacker, "/login", {"email": user.email, "password": "wrong password here"})
    with TestClient(app, base_url="http://testserver", follow_redirects=False,
                    client=("198.51.100.7", 40000)) as owner:
        response = form_post(owner, "/login", {"email": user.email, "password": user.password, "next": "/"})
        assert response.status_code == 303, response.text
    # One address trying one account again and again is slowed down.
    with TestClient(app, base_url="http://testserver", follow_redirects=False,
                    client=("192.0.2.9", 40000)) as guesser:
        codes = [form_post(guesser, "/login", {"email": user.email, "password": "wrong again"}).status_code
                 for _ in range(22)]
        assert 429 in codes


def test_viewers_never_see_signatories_emails(client: Any, post: Any, login: Any, db: Any,
                                              make_user: Any) -> None:
    from backend.accounts import service as accounts
    from backend.campaigns.models import CoalitionMember

    setup = open_letter(db, make_user, open_signon_enabled=True)
    response = post(client, f"/letters/{setup.letter.slug}/sign",
                    sign_data(setup.letter.current_version_id, contact_email="secret.person@friends.example"),
                    page=f"/letters/{setup.letter.slug}/sign")
    assert response.status_code == 303
    client.cookies.clear()
    viewer = make_user(email="viewer@partner.example", organisation="Partner")
    org = accounts.organisations_of(session=db, user_id=viewer.id)[0]
    db.add(CoalitionMember(campaign_id=setup.campaign.id, organisation_id=org.id, role="viewer"))
    db.commit()
    login(client, viewer)
    page = client.get(f"/letters/{setup.letter.slug}/signatories")
    assert page.status_code == 200 and "Friends of the Park" in page.text
    assert "secret.person@friends.example" not in page.text
    client.cookies.clear()
    login(client, setup.lead)
    assert "secret.person@friends.example" in client.get(f"/letters/{setup.letter.slug}/signatories").text


def test_no_title_of_an_unpublished_letter_on_an_anonymous_page(client: Any, db: Any, make_user: Any) -> None:
    setup = open_letter(db, make_user, title="Secret draft about the minister")
    setup.letter.status = "draft"
    db.add(setup.letter)
    db.commit()
    page = client.get(f"/letters/{setup.letter.slug}/sign/sent")
    assert "Secret draft" not in page.text
    missing = client.get("/letters/no-such-letter/sign/sent")
    assert page.status_code == missing.status_code


def test_outsiders_get_the_same_404_for_forbidden_and_missing(client: Any, login: Any, db: Any,
                                                               make_user: Any) -> None:
    setup = open_letter(db, make_user)
    outsider = make_user(email="out@side.example", organisation="Outsiders")
    login(client, outsider)
    client.get("/campaigns")  # shows the welcome message, which would differ between the two pages
    for suffix in ("/signatories", "/signatories/export.csv", "/overview", "/edit"):
        existing = client.get(f"/letters/{setup.letter.slug}{suffix}")
        missing = client.get(f"/letters/no-such-letter{suffix}")
        assert existing.status_code == missing.status_code == 404, suffix
        assert existing.text == missing.text, suffix
    existing = client.get(f"/campaigns/{setup.campaign.slug}")
    missing = client.get("/campaigns/no-such-campaign")
    assert existing.status_code == missing.status_code == 404
    assert existing.text == missing.text


def test_the_open_link_of_an_embargoed_letter_is_refused_until_publication(client: Any, post: Any, db: Any,
                                                                          make_user: Any) -> None:
    from backend.db import utcnow

    setup = open_letter(db, make_user, open_signon_enabled=True, body="Embargoed words nobody may read yet.")
    setup.letter.embargo_at = utcnow() + timedelta(days=3)
    db.add(setup.letter)
    db.commit()
    url = f"/letters/{setup.letter.slug}/sign"
    page = client.get(url)
    assert page.status_code == 404 and "Embargoed words" not in page.text
    from backend.config import get_settings
    from backend.errors import ServiceError
    from backend.signatures import signing
    from backend.signatures.signing import SignatureInput

    with pytest.raises(ServiceError):
        signing.sign(session=db, settings=get_settings(), letter=setup.letter, data=SignatureInput(
            display_name="Friends", signer_name="Sam", signer_role="Director", contact_email="s@f.example",
            attested=True, version_id=setup.letter.current_version_id))


def test_logout_deletes_the_host_cookie_with_secure_and_the_flash_cookie_is_host_prefixed(
        engine: Any, make_user: Any) -> None:
    from fastapi.testclient import TestClient

    from backend.config import Settings
    from backend.main import create_app

    user = make_user()
    prod = Settings(environment="production", secret_key="k" * 48, base_url="https://testserver",
                    smtp_host="relay.example.org", fast_password_hashing=False,
                    database_url=str(engine.url.render_as_string(hide_password=False)))
    with TestClient(create_app(prod, engine=engine, run_worker=False), base_url="https://testserver",
                    follow_redirects=False) as c:
        page = c.get("/login")
        response = c.post("/login", data={"csrf_token": csrf_from(page.text), "email": user.email,
                                          "password": user.password, "next": "/"})
        assert response.status_code == 303
        flash_cookies = [h for h in response.headers.get_list("set-cookie") if "flash" in h]
        assert flash_cookies and all(h.startswith("__Host-") and "Secure" in h for h in flash_cookies)
        page = c.get("/account")
        out = c.post("/logout", data={"csrf_token": csrf_from(page.text)})
        deleted = [h for h in out.headers.get_list("set-cookie") if h.startswith("__Host-us_session=")]
        assert deleted and all("Secure" in h and "Path=/" in h for h in deleted), deleted


def test_a_nul_is_found_whatever_the_case_of_the_content_type(client: Any) -> None:
    page = client.get("/signup")
    body = (f"csrf_token={csrf_from(page.text)}&name=Ada%00Lovelace&email=ada%40example.org"
            "&password=engine+analytical+notes&organisation=Friends")
    response = client.post("/signup", content=body,
                           headers={"content-type": "Application/X-WWW-Form-Urlencoded"})
    assert response.status_code == 400 and "NUL character" in response.text
    multipart = client.post("/signup", content=(
        "--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + csrf_from(page.text)
        + "\r\n--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAda\x00\r\n--b--\r\n").encode(),
        headers={"content-type": "Multipart/Form-Data; boundary=b"})
    assert multipart.status_code == 400 and "NUL character" in multipart.text


def test_the_test_environment_refuses_the_placeholder_key_and_has_no_mailbox(engine: Any) -> None:
    from fastapi.testclient import TestClient

    from backend.config import PLACEHOLDER_SECRET, Settings
    from backend.main import create_app

    with pytest.raises(ValueError):
        Settings(environment="test", secret_key=PLACEHOLDER_SECRET)
    test_env = Settings(environment="test", secret_key="k" * 48,
                        database_url=str(engine.url.render_as_string(hide_password=False)))
    with TestClient(create_app(test_env, engine=engine, run_worker=False)) as c:
        assert c.get("/dev/mailbox").status_code == 404
