"""Log in and out, server-side sessions with idle and absolute lifetimes, and rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.accounts.models import UserSession
from backend.db import utcnow
from tests.accounts.helpers import audit_actions

COOKIE = "us_session"


def _rows(db) -> list[UserSession]:
    db.rollback()
    db.expire_all()
    return list(db.exec(select(UserSession).order_by(UserSession.id)))


def test_log_in_sets_an_httponly_lax_cookie_for_a_server_side_row(client, db, make_user, login):
    user = make_user()
    response = login(client, user)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    [row] = _rows(db)
    assert row.user_id == user.id and row.ended_at is None
    assert row.token_hash != client.cookies.get(COOKIE)  # only the hash is stored
    assert client.get("/account").status_code == 200
    assert "login" in audit_actions(db)


def test_log_in_renews_the_session_id(client, db, make_user, login):
    user = make_user()
    login(client, user)
    first = client.cookies.get(COOKIE)
    login(client, user)
    second = client.cookies.get(COOKIE)
    assert first and second and first != second
    old, new = _rows(db)
    assert old.ended_at is not None and new.ended_at is None
    client.cookies.set(COOKIE, first)
    assert client.get("/account").status_code == 303  # the old id no longer works


def test_log_out_ends_the_server_row_so_a_kept_cookie_is_useless(client, post, db, make_user, login):
    user = make_user()
    login(client, user)
    cookie = client.cookies.get(COOKIE)
    assert post(client, "/logout", {}, page="/account").status_code == 303
    [row] = _rows(db)
    assert row.ended_at is not None
    client.cookies.set(COOKIE, cookie)
    response = client.get("/account")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert "logout" in audit_actions(db)


@pytest.mark.parametrize("expire", ["idle", "absolute"])
def test_expired_sessions_no_longer_work(client, db, make_user, login, settings, expire):
    user = make_user()
    login(client, user)
    [row] = _rows(db)
    now = utcnow()
    if expire == "idle":
        row.last_seen_at = now - timedelta(minutes=settings.session_idle_minutes + 1)
    else:
        row.last_seen_at = now  # active, but past the absolute limit
        row.expires_at = now - timedelta(seconds=1)
    db.add(row)
    db.commit()
    response = client.get("/account")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_session_just_inside_the_idle_limit_still_works(client, db, make_user, login, settings):
    user = make_user()
    login(client, user)
    [row] = _rows(db)
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes - 1)
    db.add(row)
    db.commit()
    assert client.get("/account").status_code == 200
    [row] = _rows(db)
    assert utcnow() - row.last_seen_at.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)  # touched


def test_wrong_password_is_refused_keeps_the_email_and_is_audited(client, post, db, make_user):
    user = make_user()
    response = post(client, "/login", {"email": user.email, "password": "not the password"})
    assert response.status_code == 422
    assert "The email address or password is not right." in response.text
    assert f'value="{user.email}"' in response.text
    assert "not the password" not in response.text
    assert _rows(db) == []
    assert "login_failed" in audit_actions(db)


def test_unknown_account_gets_the_same_message(client, post):
    response = post(client, "/login", {"email": "nobody@example.org", "password": "whatever it is"})
    assert response.status_code == 422
    assert "The email address or password is not right." in response.text


def test_log_in_never_redirects_off_site(client, post, make_user):
    user = make_user()
    response = post(client, "/login", {"email": user.email, "password": user.password,
                                       "next": "//evil.example/"}, page="/login")
    assert response.status_code == 303 and response.headers["location"] == "/campaigns"


def _assert_429(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "too many attempts" in response.text.lower()


def test_log_in_is_limited_per_ip(client, post, db, settings, make_user):
    user = make_user()
    allowed = int(settings.rate_limit_login.split("/")[0])
    for _ in range(allowed):
        assert post(client, "/login", {"email": "x@example.org", "password": "wrong password"}).status_code == 422
    _assert_429(post(client, "/login", {"email": user.email, "password": user.password}))
    assert "rate_limited" in audit_actions(db)
    assert _rows(db) == []


def test_log_in_is_limited_per_account_and_address(app, client, post, db, settings, make_user):
    from fastapi.testclient import TestClient

    user = make_user()
    allowed = int(settings.rate_limit_login_account.split("/")[0])
    for _ in range(allowed):
        with TestClient(app, base_url="http://testserver", follow_redirects=False, client=("10.0.0.1", 5000)) as other:
            response = post(other, "/login", {"email": user.email, "password": "wrong password"})
            assert response.status_code in (422, 429)
    with TestClient(app, base_url="http://testserver", follow_redirects=False, client=("10.0.0.1", 5000)) as other:
        _assert_429(post(other, "/login", {"email": user.email.upper(), "password": user.password}))
    # Guesses from one address do not lock the owner out at theirs (tests/identity has the spread-out attack).
    with TestClient(app, base_url="http://testserver", follow_redirects=False, client=("10.9.9.9", 1)) as owner:
        assert post(owner, "/login", {"email": user.email, "password": user.password}).status_code == 303
    # Another account from the same addresses is not affected.
    friend = make_user()
    with TestClient(app, base_url="http://testserver", follow_redirects=False, client=("10.9.9.9", 1)) as other:
        assert post(other, "/login", {"email": friend.email, "password": friend.password}).status_code == 303


def test_sign_up_and_reset_are_limited_per_ip(client, post, settings):
    for url, limit, data in [
        ("/signup", settings.rate_limit_signup, {"name": "", "email": "", "password": "", "organisation": ""}),
        ("/reset", settings.rate_limit_reset, {"email": "someone@example.org"}),
    ]:
        for _ in range(int(limit.split("/")[0])):
            assert post(client, url, data).status_code in (303, 422)
        _assert_429(post(client, url, data))
