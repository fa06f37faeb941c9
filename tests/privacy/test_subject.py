"""Subject access for site admins: search by email across the instance, export, erase; each audited."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from tests.privacy.helpers import tables_holding
from tests.publishing.helpers import ready_letter


def _actions(db: Any) -> list[str]:
    from backend.audit.models import AuditEvent

    db.rollback()
    return list(db.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))))


def test_only_site_admins_reach_subject_access(client: Any, make_user: Any, login: Any) -> None:
    assert client.get("/admin/privacy").status_code == 303
    login(client, make_user())
    assert client.get("/admin/privacy").status_code == 403


def test_search_export_and_erase_by_email(client: Any, post: Any, db: Any, make_user: Any, login: Any,
                                         engine: Any) -> None:
    from backend.accounts import service as accounts
    from backend.audit import service as audit
    from backend.publishing import service as publishing

    ready = ready_letter(db, make_user)
    publishing.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    # The same person signed as an individual and has an account.
    ivy = ready.signatures[3]
    ivy_email = ivy.contact_email
    make_user(email=ivy_email, name="Ivy Individual")
    admin = make_user(is_admin=True, name="Site Admin", email="admin@site.example")
    db.commit()
    login(client, admin)

    assert "/admin/privacy" in client.get("/admin").text
    bad = post(client, "/admin/privacy/search", {"email": "not an address"}, page="/admin/privacy")
    assert bad.status_code == 422 and 'value="not an address"' in bad.text
    page = post(client, "/admin/privacy/search", {"email": ivy_email.upper()}, page="/admin/privacy")
    assert page.status_code == 200 and "Ivy Individual" in page.text and "Protect the right to protest" in page.text
    assert "subject_access_searched" in _actions(db)

    r = post(client, "/admin/privacy/export", {"email": ivy_email}, page="/admin/privacy")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = json.loads(r.text)
    assert data["account"]["account"]["email"] == ivy_email
    assert data["signatures"][0]["signature"]["display_name"] == "Ivy Individual"
    assert "subject_access_exported" in _actions(db)

    refused = post(client, "/admin/privacy/erase", {"email": ivy_email}, page="/admin/privacy")
    assert refused.status_code == 422 and "Tick the box" in refused.text
    done = post(client, "/admin/privacy/erase", {"email": ivy_email, "confirm": "yes"}, page="/admin/privacy")
    assert done.status_code == 200 and "Erased:" in done.text
    assert "subject_erased" in _actions(db)
    assert tables_holding(engine, ivy_email, "Ivy Individual") == []
    assert accounts.get_by_email(session=db, email=ivy_email) is None
    public = client.get(f"/letters/{ready.letter.slug}")
    assert "Ivy Individual" not in public.text and "1 name removed" in public.text
    assert audit.verify_chain(session=db)
    again = post(client, "/admin/privacy/search", {"email": ivy_email}, page="/admin/privacy")
    assert "Nothing is held under this address." in again.text
