"""Verified by email domain: an address at the organisation's own registrable domain is said so publicly."""

from __future__ import annotations

import csv
import io
from typing import Any

from backend.signatures import identity
from tests.identity.test_listing_changes import _sign_and_confirm
from tests.signatures.helpers import open_letter, sign_data, signatures


def test_registrable_domains_come_from_the_public_suffix_list() -> None:
    assert identity.registrable_domain("www.cja.org.uk") == "cja.org.uk"
    assert identity.confirmed_domain(email="jo@mail.cja.org.uk", website="https://www.cja.org.uk/about") == \
        "cja.org.uk"
    assert identity.confirmed_domain(email="jo@gmail.com", website="https://www.cja.org.uk") is None
    # Two organisations under one public suffix are not one domain.
    assert identity.confirmed_domain(email="a@one.github.io", website="https://two.github.io") is None
    assert identity.confirmed_domain(email="a@org.uk", website="https://org.uk") is None


def test_the_public_page_api_and_csv_say_how_a_signature_was_confirmed(client: Any, post: Any, login: Any, db: Any,
                                                                        make_user: Any, deliver: Any,
                                                                        smtp: Any, engine: Any) -> None:
    from backend.publishing import service as publishing
    from tests.publishing.helpers import build_documents

    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=False)
    slug, vid = setup.letter.slug, setup.letter.current_version_id
    url = f"/letters/{slug}/sign"
    _sign_and_confirm(client, post, deliver, smtp, url, sign_data(
        vid, display_name="Criminal Justice Alliance", contact_email="jo@cja.org.uk",
        website="https://www.cja.org.uk"))
    _sign_and_confirm(client, post, deliver, smtp, url, sign_data(
        vid, display_name="Friends of the Park", contact_email="friends.park@gmail.com",
        website="https://friends.example"))
    cja, friends = signatures(db)
    assert cja.confirmed_domain == "cja.org.uk" and friends.confirmed_domain is None

    login(client, setup.lead)
    only = client.get(f"/letters/{slug}/signatories?verified=1")
    # (Rows of the main table; the display-order form below lists everyone.)
    assert "<td>Criminal Justice Alliance<br>" in only.text and "<td>Friends of the Park<br>" not in only.text
    exported = list(csv.DictReader(io.StringIO(client.get(f"/letters/{slug}/signatories/export.csv").text
                                               .lstrip("\ufeff"))))
    assert [r["confirmation"] for r in exported] == ["confirmed by an address at cja.org.uk", "confirmed by email"]
    client.cookies.clear()

    db.rollback()
    db.expire_all()
    letter = setup.letter
    letter.status = "closed"
    db.add(letter)
    db.commit()
    publishing.publish(session=db, letter=letter, user=setup.lead, ip=None)
    db.commit()
    page = client.get(f"/letters/{slug}")
    assert page.status_code == 200
    assert "confirmed by an address at cja.org.uk" in page.text
    api = client.get(f"/api/v1/letters/{slug}/signatories").json()
    assert [s["confirmation"] for s in api] == ["confirmed by an address at cja.org.uk", "confirmed by email"]
    build_documents(engine)  # the worker's job
    pack_csv = list(csv.DictReader(io.StringIO(client.get(f"/letters/{slug}/press/signatories.csv").text
                                               .lstrip("\ufeff"))))
    assert [r["confirmation"] for r in pack_csv] == ["confirmed by an address at cja.org.uk", "confirmed by email"]
