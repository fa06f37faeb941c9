"""Mail an account can cause is bounded: invite budgets per account, subjects without free text, admins told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.signatures.helpers import invite_one, open_letter, outbox


def _lines(count: int, start: int = 0) -> str:
    return "\n".join(f"Organisation {n}, org{n}@bulk.example" for n in range(start, start + count))


def test_a_new_account_invites_a_few_organisations_a_day(client: Any, post: Any, login: Any, db: Any,
                                                          make_user: Any, settings: Any) -> None:
    setup = open_letter(db, make_user)  # the lead's account was created just now: a new account
    limit = settings.invite_limit_new_account
    response = invite_one(client, post, login, setup, _lines(1000))
    assert response.status_code == 422
    assert f"can invite {limit} organisations in 24 hours" in response.text
    assert outbox(db, "signature_invite") == []
    # A second request the same day adds up with the first.
    response = post(client, f"/letters/{setup.letter.slug}/signatories/invites", {"invites": _lines(limit - 5)},
                    page=f"/letters/{setup.letter.slug}/signatories")
    assert response.status_code == 303
    response = post(client, f"/letters/{setup.letter.slug}/signatories/invites", {"invites": _lines(10, 500)},
                    page=f"/letters/{setup.letter.slug}/signatories")
    assert response.status_code == 422 and "(5 more now)" in response.text
    assert len(outbox(db, "signature_invite")) == limit - 5


def test_an_established_lead_gets_the_larger_budget(client: Any, post: Any, login: Any, db: Any, make_user: Any,
                                                    settings: Any) -> None:
    from backend.db import utcnow

    setup = open_letter(db, make_user)
    setup.lead.created_at = utcnow() - timedelta(days=settings.account_established_days + 1)
    db.add(setup.lead)
    db.commit()
    response = invite_one(client, post, login, setup, _lines(settings.invite_limit_new_account + 10))
    assert response.status_code == 303, response.text
    assert len(outbox(db, "signature_invite")) == settings.invite_limit_new_account + 10


def test_invite_subjects_carry_the_inviters_organisation_quoted_and_truncated(client: Any, post: Any, login: Any,
                                                                             db: Any, make_user: Any) -> None:
    from backend.accounts.models import Organisation

    setup = open_letter(db, make_user)
    org = db.get(Organisation, setup.campaign.lead_organisation_id)
    org.name = "Lead Charity " + "x" * 150
    db.add(org)
    db.commit()
    response = invite_one(client, post, login, setup,
                          "BUY CHEAP WATCHES NOW http-free text, buyer@spam.example")
    assert response.status_code == 303, response.text
    [mail] = outbox(db, "signature_invite")
    assert mail.subject.startswith("An invitation to sign an open letter, from “Lead Charity xxx")
    assert mail.subject.endswith("…”") and len(mail.subject) < 110
    assert "WATCHES" not in mail.subject and "Protect the right" not in mail.subject


def test_site_admins_see_accounts_that_hit_their_limits(client: Any, post: Any, login: Any, db: Any,
                                                        make_user: Any) -> None:
    setup = open_letter(db, make_user)
    assert invite_one(client, post, login, setup, _lines(200)).status_code == 422
    client.cookies.clear()
    admin = make_user(email="admin@site.example", is_admin=True)
    login(client, admin)
    page = client.get("/admin")
    assert "Accounts that reached their invite limit" in page.text
    assert setup.lead.email in page.text.split("Accounts that reached their invite limit")[-1]
