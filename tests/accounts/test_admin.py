"""Site admin pages: list organisations and accounts, create an organisation, add a member by email."""

from __future__ import annotations

from sqlmodel import select

from backend.accounts import service
from backend.accounts.models import Membership, Organisation


def test_only_site_admins_get_in(client, make_user, login):
    assert client.get("/admin").status_code == 303
    login(client, make_user())
    assert client.get("/admin").status_code == 403


def test_admin_lists_creates_an_organisation_and_adds_a_member(client, post, db, make_user, login):
    admin = make_user(is_admin=True, name="Site Admin")
    person = make_user(name="Grace Hopper", email="grace@example.org", organisation="Navy Charity")
    login(client, admin)
    page = client.get("/admin")
    assert page.status_code == 200 and "Navy Charity" in page.text and "grace@example.org" in page.text

    bad = post(client, "/admin/organisations", {"name": "", "website": "nope nope"})
    assert bad.status_code == 422 and "Enter the organisation" in bad.text and 'value="nope nope"' in bad.text

    created = post(client, "/admin/organisations", {"name": "Compilers United", "website": "https://compilers.example"})
    assert created.status_code == 303
    assert created.headers["location"] == "/admin/organisations/compilers-united"
    org_page = "/admin/organisations/compilers-united"

    missing = post(client, f"{org_page}/members", {"email": "nobody@example.org", "role": "member"})
    assert missing.status_code == 422 and "No account uses that email address" in missing.text
    assert 'value="nobody@example.org"' in missing.text
    wrong_role = post(client, f"{org_page}/members", {"email": "grace@example.org", "role": "owner"})
    assert wrong_role.status_code == 422

    added = post(client, f"{org_page}/members", {"email": "GRACE@example.org", "role": "admin"})
    assert added.status_code == 303
    db.rollback()
    org = db.exec(select(Organisation).where(Organisation.slug == "compilers-united")).one()
    assert service.role_in(session=db, user_id=person.id, organisation_id=org.id) == "admin"
    assert len(db.exec(select(Membership)).all()) == 2
    assert "Grace Hopper" in client.get(org_page).text
