"""The invited name is the name; a change of an approved listing waits for the lead; look-alikes are held."""

from __future__ import annotations

from typing import Any

from backend import ratelimit
from tests.signatures.helpers import invite_one, link_in, open_letter, sign_data, signatures


def _sign_and_confirm(client: Any, post: Any, deliver: Any, smtp: Any, url: str, data: dict[str, Any]) -> str:
    """Signs through `url`, confirms by the emailed link; the management link."""
    ratelimit.reset()
    response = post(client, url, data, page=url)
    assert response.status_code == 303, response.text
    deliver()
    email = data["contact_email"]
    confirm = link_in(smtp.wait_for(1, to=email)[-1], "/confirm/")
    response = post(client, confirm, {"version_id": data["version_id"]}, page=confirm)
    assert response.status_code == 303, response.text
    deliver()
    return link_in([m for m in smtp.messages_to(email) if "/manage/" in m.text][-1], "/manage/")


def _public_names(client: Any, slug: str) -> str:
    return client.get(f"/letters/{slug}/sign").text


def test_an_approved_open_signon_cannot_rename_itself_without_the_lead(client: Any, post: Any, login: Any, db: Any,
                                                                      make_user: Any, deliver: Any, smtp: Any) -> None:
    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=True,
                        show_signatories_while_open=True)
    slug, vid = setup.letter.slug, setup.letter.current_version_id
    manage = _sign_and_confirm(client, post, deliver, smtp, f"/letters/{slug}/sign",
                               sign_data(vid, display_name="Tiny Local Group", contact_email="t@tiny.example",
                                         website="https://tiny.example"))
    [s] = signatures(db)
    login(client, setup.lead)
    assert post(client, f"/letters/{slug}/signatories/{s.id}/approve", {},
                page=f"/letters/{slug}/signatories").status_code == 303
    client.cookies.clear()
    assert "Tiny Local Group" in _public_names(client, slug)

    ratelimit.reset()
    response = post(client, manage, {"display_name": "Amnesty International", "signer_name": "Sam Signer",
                                     "signer_role": "Director", "website": "https://www.amnesty.org.uk", "city": ""})
    assert response.status_code == 303
    page = client.get(manage)
    assert "Waiting for the coalition" in page.text and "Amnesty International" in page.text
    [s] = signatures(db)
    assert s.display_name == "Tiny Local Group" and s.website == "https://tiny.example" and s.status == "approved"
    public = _public_names(client, slug)
    assert "Tiny Local Group" in public and "Amnesty International" not in public

    login(client, setup.lead)
    dashboard = client.get(f"/letters/{slug}/signatories")
    assert "Changes waiting for approval" in dashboard.text
    assert "<del>Tiny Local Group</del>" in dashboard.text and "<ins>Amnesty International</ins>" in dashboard.text
    assert "<ins>https://www.amnesty.org.uk</ins>" in dashboard.text
    # Rejected: the listing stays.
    assert post(client, f"/letters/{slug}/signatories/{s.id}/change/reject", {},
                page=f"/letters/{slug}/signatories").status_code == 303
    [s] = signatures(db)
    assert s.display_name == "Tiny Local Group"
    assert "Changes waiting for approval" not in client.get(f"/letters/{slug}/signatories").text


def test_an_invited_organisation_signs_under_the_invited_name(client: Any, post: Any, login: Any, db: Any,
                                                             make_user: Any, deliver: Any, smtp: Any) -> None:
    setup = open_letter(db, make_user, show_signatories_while_open=True, open_signon_enabled=True)
    slug, vid = setup.letter.slug, setup.letter.current_version_id
    assert invite_one(client, post, login, setup, "Tiny Local Group, t@tiny.example").status_code == 303
    client.cookies.clear()
    deliver()
    sign_link = link_in(smtp.wait_for(1, to="t@tiny.example")[-1], "/sign/")
    _sign_and_confirm(client, post, deliver, smtp, sign_link,
                      sign_data(vid, display_name="Oxfam GB", contact_email="t@tiny.example"))
    [s] = signatures(db)
    assert s.display_name == "Tiny Local Group" and s.status == "approved"
    public = _public_names(client, slug)
    assert "Tiny Local Group" in public and "Oxfam GB" not in public
    # The signer's correction waits for the lead, who approves it.
    login(client, setup.lead)
    dashboard = client.get(f"/letters/{slug}/signatories")
    assert "<del>Tiny Local Group</del>" in dashboard.text and "<ins>Oxfam GB</ins>" in dashboard.text
    assert post(client, f"/letters/{slug}/signatories/{s.id}/change/approve", {},
                page=f"/letters/{slug}/signatories").status_code == 303
    [s] = signatures(db)
    assert s.display_name == "Oxfam GB" and s.name_key == "oxfam gb"


def test_look_alike_names_are_held_with_the_reason(client: Any, post: Any, login: Any, db: Any, make_user: Any,
                                                   deliver: Any, smtp: Any) -> None:
    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=False)
    slug, vid = setup.letter.slug, setup.letter.current_version_id
    url = f"/letters/{slug}/sign"
    _sign_and_confirm(client, post, deliver, smtp, url,
                      sign_data(vid, display_name="Amnesty International", contact_email="a@amnesty.example"))
    fakes = ["\u0410mnesty International", "Amnesty lnternational", "AMNESTY  INTERNATI0NAL",
             "Amnesty\u200bInternational", "Lead Charlty"]
    for n, name in enumerate(fakes):
        _sign_and_confirm(client, post, deliver, smtp, url,
                          sign_data(vid, display_name=name, contact_email=f"fake{n}@fake.example"))
    rows = signatures(db)
    assert rows[0].status == "approved" and rows[0].hold_reason is None
    by_email = {s.contact_email: s for s in rows}
    for n in range(len(fakes)):
        s = by_email[f"fake{n}@fake.example"]
        assert "\u200b" not in s.display_name
        assert s.status == "confirmed", (s.display_name, s.status)
        assert s.hold_reason and s.hold_reason.startswith("looks like "), s.display_name
    assert "looks like Amnesty International, signed " in by_email["fake0@fake.example"].hold_reason
    assert "looks like Lead Charity" in by_email["fake4@fake.example"].hold_reason
    login(client, setup.lead)
    dashboard = client.get(f"/letters/{slug}/signatories")
    assert "Held: looks like Amnesty International, signed" in dashboard.text


def test_an_organisation_is_looked_alike_by_its_name_as_it_is_now(db: Any, make_user: Any) -> None:
    """Organisations with an account are found by their stored skeleton, kept with the name through a rename."""
    from sqlmodel import select

    from backend.accounts import service as accounts
    from backend.accounts.models import Organisation
    from backend.signatures.identity import look_alike
    from backend.text import fold, skeleton

    make_user(organisation="Southside Network")
    db.commit()
    [org] = db.exec(select(Organisation)).all()
    assert org.skeleton == skeleton("Southside Network")

    def held(name: str) -> str | None:
        return look_alike(session=db, letter_id=None, name=name, name_key=fold(name))

    assert held("S0uthside Netw0rk") == "looks like Southside Network, an organisation with an account here"
    assert held("Southside Network") is None  # its own name is not a look-alike of itself
    accounts.update_organisation(session=db, organisation=org, name="Northside Trust", website=None,
                                 charity_number=None, description=None)
    db.commit()
    assert held("N0rthside Trust") == "looks like Northside Trust, an organisation with an account here"
    assert held("S0uthside Netw0rk") is None
