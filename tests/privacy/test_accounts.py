"""An account holder exports their account's data and closes the account, handing a lead organisation over."""

from __future__ import annotations

import json
from typing import Any

from tests.privacy.helpers import tables_holding


def test_the_account_export_names_every_column() -> None:
    """A column added to these models without being added to the export fails here."""
    from backend.accounts.models import EmailToken, Membership, User, UserSession
    from backend.privacy import accounts

    for model, fields in ((User, accounts.USER_FIELDS), (Membership, accounts.MEMBERSHIP_FIELDS),
                          (UserSession, accounts.SESSION_FIELDS), (EmailToken, accounts.EMAIL_TOKEN_FIELDS)):
        columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
        assert set(fields) == columns, f"{model.__name__}: not exported {columns - set(fields)}"


def test_export_from_the_profile(client: Any, login: Any, make_user: Any) -> None:
    from backend.accounts.models import User

    user = make_user(email="kim@charity.example", name="Kim Keeper", organisation="Keepers")
    login(client, user)
    assert "/account/data.json" in client.get("/account").text
    r = client.get("/account/data.json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = json.loads(r.text)
    assert set(data["account"]) == set(User.__table__.columns.keys())  # type: ignore[attr-defined]
    assert data["account"]["email"] == "kim@charity.example" and data["account"]["password_hash"] == "(withheld)"
    assert "argon2" not in r.text
    assert data["memberships"][0]["organisation"] == "Keepers" and data["memberships"][0]["role"] == "admin"
    assert data["sessions"] and data["sessions"][0]["ip"]
    assert any(e["action"] == "login" for e in data["audit_events"])
    client.cookies.clear()
    assert client.get("/account/data.json").status_code in (303, 401)


def test_closing_a_lead_organisations_only_admin_asks_for_a_handover(client: Any, post: Any, login: Any, db: Any,
                                                                     make_user: Any, engine: Any) -> None:
    from backend.accounts import service as accounts
    from backend.audit import service as audit
    from backend.campaigns import service as campaigns

    lead = make_user(email="lena@lead.example", name="Lena Leaving", organisation="Lead Charity")
    org = accounts.organisations_of(session=db, user_id=lead.id)[0]
    campaigns.create(session=db, title="Right to protest", lead_organisation=org, created_by=lead)
    colleague = make_user(email="cal@lead.example", name="Cal Colleague")
    accounts.add_membership(session=db, user=colleague, organisation=org, role="member")
    db.commit()
    login(client, lead)

    page = client.get("/account/close")
    assert "Hand over first" in page.text and "Cal Colleague" in page.text
    r = post(client, "/account/close", {"password": lead.password, "confirm": "yes"}, page="/account/close")
    assert r.status_code == 409 and "Make a colleague an admin" in r.text
    r = post(client, "/account/handover", {"organisation_id": str(org.id), "user_id": str(colleague.id)},
             page="/account/close")
    assert r.status_code == 303
    assert accounts.role_in(session=db, user_id=colleague.id, organisation_id=org.id) == "admin"

    page = client.get("/account/close")
    assert "Hand over first" not in page.text
    r = post(client, "/account/close", {"password": "wrong password!", "confirm": "yes"}, page="/account/close")
    assert r.status_code == 422 and "not your current password" in r.text
    r = post(client, "/account/close", {"password": lead.password}, page="/account/close")
    assert r.status_code == 422 and "Tick the box" in r.text
    r = post(client, "/account/close", {"password": lead.password, "confirm": "yes"}, page="/account/close")
    assert r.status_code == 303
    assert tables_holding(engine, "lena@lead.example", "Lena Leaving") == []
    assert client.get("/account").status_code != 200  # logged out
    db.rollback()
    assert accounts.get_by_email(session=db, email="lena@lead.example") is None
    assert audit.verify_chain(session=db)
    assert tables_holding(engine, "cal@lead.example")  # the colleague's data stays
