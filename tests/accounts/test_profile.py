"""Profile, change password, and the organisation page for its members."""

from __future__ import annotations

from sqlmodel import select

from backend.accounts import service
from backend.accounts.models import Organisation, UserSession
from tests.accounts.helpers import audit_actions


def test_account_requires_log_in(client):
    response = client.get("/account")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Faccount"


def test_profile_shows_email_and_updates_the_name(client, post, db, make_user, login):
    user = make_user(name="Ada", organisation="Friends of the Engine")
    login(client, user)
    page = client.get("/account")
    assert user.email in page.text and "Friends of the Engine" in page.text
    assert post(client, "/account", {"name": "  Ada   King "}).status_code == 303
    db.rollback()
    db.refresh(user)
    assert user.name == "Ada King"

    response = post(client, "/account", {"name": "x" * 201})
    assert response.status_code == 422 and "too long" in response.text
    assert "x" * 201 in response.text
    db.rollback()
    db.refresh(user)
    assert user.name == "Ada King"


def test_change_password_needs_the_current_one_and_logs_out_other_devices(
        app, client, post, db, make_user, login, smtp, deliver):
    from fastapi.testclient import TestClient

    user = make_user()
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other_device:
        login(other_device, user)
        login(client, user)

        wrong = post(client, "/account/password", {"current_password": "not it at all", "new_password": "x y z w v u"})
        assert wrong.status_code == 422 and "current password is not right" in wrong.text
        weak = post(client, "/account/password", {"current_password": user.password, "new_password": "short"})
        assert weak.status_code == 422 and "at least 10" in weak.text
        db.rollback()
        assert service.authenticate(session=db, email=user.email, password=user.password) is not None
        assert "password_change_failed" in audit_actions(db)

        done = post(client, "/account/password", {"current_password": user.password,
                                                  "new_password": "a much better passphrase"})
        assert done.status_code == 303
        assert client.get("/account").status_code == 200  # this browser carries on with a new session
        assert other_device.get("/account").status_code == 303  # the other one is logged out
    db.rollback()
    assert service.authenticate(session=db, email=user.email, password="a much better passphrase") is not None
    assert len([s for s in db.exec(select(UserSession)) if s.ended_at is None]) == 1
    assert "password_changed" in audit_actions(db)
    deliver()
    [mail] = smtp.wait_for(1, to=user.email)
    assert "password was changed" in mail.subject


def _org(db) -> Organisation:
    db.rollback()
    db.expire_all()
    return db.exec(select(Organisation)).one()


def test_organisation_admin_edits_details_with_errors_kept(client, post, db, make_user, login):
    user = make_user(organisation="Friends of the Engine")
    login(client, user)
    org = _org(db)
    url = f"/organisations/{org.slug}"
    assert "Save details" in client.get(url).text
    bad = post(client, url, {"name": "Friends", "website": "not a url at all", "charity_number": "12;34",
                             "description": "We <b>campaign</b>."})
    assert bad.status_code == 422
    assert "Enter a website address like" in bad.text and "Enter the charity number" in bad.text
    assert "We &lt;b&gt;campaign&lt;/b&gt;." in bad.text and 'value="not a url at all"' in bad.text
    assert _org(db).name == "Friends of the Engine"

    good = post(client, url, {"name": "Friends of the Engine", "website": "example.org",
                              "charity_number": "1234567", "description": "We campaign."})
    assert good.status_code == 303
    org = _org(db)
    assert (org.website, org.charity_number, org.description) == ("https://example.org", "1234567", "We campaign.")


def test_plain_members_read_and_outsiders_see_nothing(client, post, db, make_user, login):
    owner = make_user(organisation="Friends of the Engine")
    org = _org(db)
    member = make_user()
    service.add_membership(session=db, user=member, organisation=org, role="member")
    db.commit()
    outsider = make_user()

    login(client, member)
    page = client.get(f"/organisations/{org.slug}")
    assert page.status_code == 200 and "Save details" not in page.text and owner.email in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post(f"/organisations/{org.slug}", data={"csrf_token": csrf, "name": "Taken over"})
    assert refused.status_code == 403
    assert _org(db).name == "Friends of the Engine"

    login(client, outsider)
    assert client.get(f"/organisations/{org.slug}").status_code == 404
