"""Forgotten password: the same answer for every address, an emailed single-use link that expires."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from backend.accounts import service
from backend.accounts.models import EmailToken, UserSession
from backend.mail.models import OutboundEmail
from tests.accounts.helpers import audit_actions, link_in

NEW = "a brand new passphrase"


def test_reset_through_the_emailed_link_ends_sessions_and_the_new_password_works(
        client, post, db, make_user, login, smtp, deliver):
    user = make_user(verified=False)
    login(client, user)
    response = post(client, "/reset", {"email": user.email.upper()})
    assert response.status_code == 303 and response.headers["location"] == "/reset/check-email"
    deliver()
    [mail] = smtp.wait_for(1, to=user.email)
    link = link_in(mail, "/reset/")

    page = client.get(link)
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert post(client, link, {"password": NEW}, page=link).status_code == 303

    db.rollback()
    db.expire_all()
    db.refresh(user)
    assert user.verified_at is not None  # the link proved the address
    assert service.authenticate(session=db, email=user.email, password=NEW) is not None
    assert service.authenticate(session=db, email=user.email, password=user.password) is None
    assert all(s.ended_at is not None for s in db.exec(select(UserSession)))
    assert client.get("/account").status_code == 303  # this browser was logged out too

    deliver()
    notices = smtp.wait_for(2, to=user.email)
    assert any("password was changed" in m.subject for m in notices)
    assert {"password_reset_requested", "password_reset"} <= set(audit_actions(db))

    # The link works once.
    assert client.get(link).status_code == 400
    assert post(client, link, {"password": "another fine passphrase"}, page="/reset").status_code == 400
    db.rollback()
    db.expire_all()
    assert service.authenticate(session=db, email=user.email, password=NEW) is not None


def test_unknown_address_gets_the_same_answer_and_no_mail(client, post, db, smtp, deliver):
    response = post(client, "/reset", {"email": "nobody@example.org"})
    assert response.status_code == 303 and response.headers["location"] == "/reset/check-email"
    assert db.exec(select(OutboundEmail)).first() is None
    assert db.exec(select(EmailToken)).first() is None


def test_malformed_or_overlong_address_is_refused_and_kept(client, post, db, make_user):
    for value, message in [("not an email", "Enter an email address like"),
                           ("x" * 250 + "@example.org", "too long")]:
        response = post(client, "/reset", {"email": value})
        assert response.status_code == 422
        assert message in response.text
        assert f'value="{value}"' in response.text
    assert db.exec(select(EmailToken)).first() is None


def _token(db, user, minutes: int) -> str:
    token = service.issue_token(session=db, purpose="reset", email=user.email, user_id=user.id,
                                lifetime=timedelta(minutes=minutes))
    db.commit()
    return token


def test_expired_link_is_refused_and_changes_nothing(client, post, db, make_user):
    user = make_user()
    token = _token(db, user, -1)
    page = client.get(f"/reset/{token}")
    assert page.status_code == 400 and "expired" in page.text
    assert post(client, f"/reset/{token}", {"password": NEW}, page="/reset").status_code == 400
    db.rollback()
    db.expire_all()
    assert service.authenticate(session=db, email=user.email, password=user.password) is not None


def test_weak_password_keeps_the_link_usable(client, post, db, make_user):
    user = make_user()
    token = _token(db, user, 30)
    response = post(client, f"/reset/{token}", {"password": "short"})
    assert response.status_code == 422
    assert "Use at least 10 characters" in response.text
    assert 'value="short"' not in response.text
    db.rollback()
    db.expire_all()
    row = db.exec(select(EmailToken)).one()
    assert row.used_at is None
    assert service.authenticate(session=db, email=user.email, password=user.password) is not None
    assert post(client, f"/reset/{token}", {"password": NEW}).status_code == 303


def test_link_lifetime_follows_the_setting(client, post, db, make_user, settings):
    user = make_user()
    post(client, "/reset", {"email": user.email})
    db.rollback()
    db.expire_all()
    row = db.exec(select(EmailToken).order_by(col(EmailToken.id).desc())).first()
    lifetime = row.expires_at - row.created_at
    assert abs(lifetime - timedelta(minutes=settings.reset_token_minutes)) < timedelta(seconds=5)
    assert row.purpose == "reset" and len(row.token_hash) == 64
