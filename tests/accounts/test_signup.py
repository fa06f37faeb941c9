"""Sign up, the emailed verification link, and no account enumeration."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from backend.accounts import deps, service
from backend.accounts.models import EmailToken, Membership, Organisation, User
from backend.errors import Forbidden
from backend.mail.models import OutboundEmail
from tests.accounts.helpers import audit_actions, link_in

GOOD = {"name": "Ada Lovelace", "email": "Ada@Example.org", "password": "engine analytical notes",
        "organisation": "Friends of the Engine"}


def _count(db, model) -> int:
    db.rollback()
    db.expire_all()
    return db.exec(select(func.count()).select_from(model)).one()


def test_sign_up_sends_a_link_whose_button_verifies(client, post, db, smtp, deliver):
    response = post(client, "/signup", GOOD)
    assert response.status_code == 303
    assert response.headers["location"] == "/signup/check-email"
    assert "Check your email" in client.get("/signup/check-email").text

    user = db.exec(select(User)).one()
    assert user.email == "ada@example.org" and user.name == "Ada Lovelace" and user.verified_at is None
    org = db.exec(select(Organisation)).one()
    assert org.name == "Friends of the Engine" and org.slug == "friends-of-the-engine"
    membership = db.exec(select(Membership)).one()
    assert (membership.user_id, membership.organisation_id, membership.role) == (user.id, org.id, "admin")

    deliver()
    [mail] = smtp.wait_for(1, to="ada@example.org")
    assert "Confirm your email address" in mail.subject
    link = link_in(mail, "/verify/")

    # A GET (a mail scanner, say) changes nothing.
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm my email address" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    db.rollback()
    db.expire_all()
    assert db.get(User, user.id).verified_at is None

    done = post(client, link, {}, page=link)
    assert done.status_code == 303
    db.rollback()
    db.expire_all()
    assert db.get(User, user.id).verified_at is not None
    assert {"signup", "email_verified"} <= set(audit_actions(db))

    # The link works once.
    again = client.get(link)
    assert again.status_code == 400
    assert "already been used" in again.text


def test_existing_email_gets_the_same_page_and_its_owner_a_notice(client, post, db, smtp, deliver, make_user):
    owner = make_user(email="ada@example.org", name="Ada Original")
    response = post(client, "/signup", {**GOOD, "email": " ADA@example.org "})
    assert response.status_code == 303
    assert response.headers["location"] == "/signup/check-email"
    assert _count(db, User) == 1
    assert _count(db, Organisation) == 0
    assert _count(db, EmailToken) == 0
    deliver()
    [mail] = smtp.wait_for(1, to=owner.email)
    assert "already" in mail.text and "/reset" in mail.text
    db.rollback()
    db.expire_all()
    db.refresh(owner)
    assert owner.name == "Ada Original"
    assert "signup_existing_email" in audit_actions(db)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter an email address like name@example.org."),
        ("email", "a" * 250 + "@example.org", "That email address is too long"),
        ("email", "", "Enter an email address."),
        ("password", "short", "Use at least 10 characters"),
        ("password", "password123", "too easy to guess"),
        ("password", "aaaaaaaaaaaa", "too easy to guess"),
        ("name", "   ", "Enter your name."),
        ("organisation", "", "Enter your organisation&#39;s name."),
        ("name", "n" * 201, "too long"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_the_typed_text_kept(client, post, db, field, value, message):
    data = {**GOOD, field: value}
    response = post(client, "/signup", data)
    assert response.status_code == 422
    assert message in response.text
    assert 'class="error-summary"' in response.text
    # What was typed is kept (except the password, never echoed back).
    if field != "password":
        assert 'value="Friends of the Engine"' in response.text or field == "organisation"
    assert "engine analytical notes" not in response.text
    assert _count(db, User) == 0 and _count(db, Organisation) == 0 and _count(db, OutboundEmail) == 0


def test_several_errors_show_at_once_and_text_is_escaped(client, post):
    response = post(client, "/signup", {"name": "<b>Ada</b>", "email": "nope", "password": "x",
                                        "organisation": ""})
    assert response.status_code == 422
    assert "Enter an email address like" in response.text
    assert "Use at least 10 characters" in response.text
    assert "Enter your organisation" in response.text
    assert 'value="&lt;b&gt;Ada&lt;/b&gt;"' in response.text
    assert "<b>Ada</b>" not in response.text


def test_unverified_user_can_log_in_sees_a_banner_and_can_ask_for_a_new_link(
        client, post, db, make_user, login, smtp, deliver):
    user = make_user(verified=False)
    login(client, user)
    page = client.get("/account")
    assert "Please confirm your email address" in page.text
    with pytest.raises(Forbidden):
        deps.ensure_verified(user)

    response = post(client, "/account/verify", {}, page="/account")
    assert response.status_code == 303
    deliver()
    [mail] = smtp.wait_for(1, to=user.email)
    link = link_in(mail, "/verify/")
    assert post(client, link, {}, page=link).status_code == 303
    db.rollback()
    db.expire_all()
    db.refresh(user)
    assert user.verified_at is not None
    assert deps.ensure_verified(user) is user
    assert "Please confirm your email address" not in client.get("/account").text


def test_expired_verification_link_is_refused_and_changes_nothing(client, db, make_user):
    user = make_user(verified=False)
    token = service.issue_token(session=db, purpose="verify", email=user.email, user_id=user.id,
                                lifetime=__import__("datetime").timedelta(seconds=-1))
    db.commit()
    response = client.get(f"/verify/{token}")
    assert response.status_code == 400
    assert "expired" in response.text
    csrf = client.get("/signup").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/verify/{token}", data={"csrf_token": csrf})
    assert response.status_code == 400
    db.rollback()
    db.expire_all()
    db.refresh(user)
    assert user.verified_at is None


def test_a_reset_token_cannot_verify(client, db, make_user, post):
    user = make_user(verified=False)
    token = service.issue_token(session=db, purpose="reset", email=user.email, user_id=user.id,
                                lifetime=__import__("datetime").timedelta(hours=1))
    db.commit()
    assert client.get(f"/verify/{token}").status_code == 400
    assert post(client, f"/verify/{token}", {}, page="/signup").status_code == 400
    db.rollback()
    db.expire_all()
    db.refresh(user)
    assert user.verified_at is None
