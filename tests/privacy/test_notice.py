"""The privacy notice, built from settings and linked from every form that takes personal data; consent to
updates is off until ticked."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import select

from tests.signatures.helpers import invite_one, link_in, open_letter, sign_data


def test_the_notice_shows_the_instance_settings(client: Any, settings: Any) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200
    for shown in (settings.privacy_controller, settings.privacy_contact,
                  f"{settings.retention_contact_email_days} days", f"{settings.retention_ip_days} days",
                  f"{settings.retention_email_body_days} days", f"{settings.retention_press_download_days} days"):
        assert shown in page.text, shown
    assert 'href="/privacy"' in client.get("/").text  # the footer of every page


def test_forms_taking_personal_data_link_the_notice(client: Any, login: Any, db: Any, make_user: Any) -> None:
    setup = open_letter(db, make_user, open_signon_enabled=True)
    slug = setup.letter.slug

    def form_links_notice(html: str, action: str) -> bool:
        start = html.index(f'action="{action}"')
        return 'href="/privacy"' in html[start:html.index("</form>", start)]

    assert form_links_notice(client.get(f"/letters/{slug}/sign").text, f"/letters/{slug}/sign")
    assert form_links_notice(client.get("/signup").text, "/signup")
    login(client, setup.lead)
    assert form_links_notice(client.get(f"/letters/{slug}/signatories").text, f"/letters/{slug}/signatories/invites")
    assert form_links_notice(client.get(f"/campaigns/{setup.campaign.slug}").text,
                             f"/campaigns/{setup.campaign.slug}/invites")
    assert 'href="/privacy"' in client.get("/account").text


def test_updates_are_off_until_ticked(client: Any, post: Any, login: Any, db: Any, make_user: Any, deliver: Any,
                                      smtp: Any) -> None:
    from backend.signatures.models import Signature

    setup = open_letter(db, make_user)
    invite_one(client, post, login, setup, "Friends of the Park, sam@friends.example\nZebra Trust, zoe@zebra.example")
    deliver()
    client.cookies.clear()
    sam = link_in(smtp.wait_for(1, to="sam@friends.example")[0], "/sign/")
    zoe = link_in(smtp.wait_for(1, to="zoe@zebra.example")[0], "/sign/")
    page = client.get(sam).text
    [box] = re.findall(r'<input type="checkbox" id="f-notify_updates"[^>]*>', page)
    assert "checked" not in box
    r = post(client, sam, sign_data(setup.letter.current_version_id), page=sam)
    assert r.status_code == 303, r.text
    r = post(client, zoe, sign_data(setup.letter.current_version_id, display_name="Zebra Trust",
                                    contact_email="zoe@zebra.example", notify_updates="yes"), page=zoe)
    assert r.status_code == 303, r.text
    db.rollback()
    chosen = {s.contact_email: s.notify_updates for s in db.exec(select(Signature))}
    assert chosen == {"sam@friends.example": False, "zoe@zebra.example": True}
