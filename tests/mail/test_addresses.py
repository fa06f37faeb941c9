"""Addresses are checked at the door for what SMTP can carry; a row with no address is never queued."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from backend.errors import InvalidInput
from backend.mail import addresses, service
from backend.mail.models import OutboundEmail
from tests.conftest import csrf_from
from tests.signatures.helpers import open_letter, sign_data, signatures


def test_international_domain_is_accepted_and_sent_idna_encoded(db, smtp, deliver):
    assert addresses.normalise("Info@Bücher.Example") == "info@bücher.example"
    service.enqueue(session=db, to="info@bücher.example", template="test_message",
                    context={"name": "Bücher", "link": "http://testserver/"})
    db.commit()
    assert deliver() == 1
    [mail] = smtp.wait_for(1)
    assert mail.envelope_to == ["info@xn--bcher-kva.example"]
    assert "xn--bcher-kva.example" in mail.to


def test_non_ascii_local_part_is_refused_with_a_reason():
    with pytest.raises(InvalidInput, match="before the @ has letters outside plain A-Z"):
        addresses.normalise("jösé@example.org")
    with pytest.raises(InvalidInput, match=r"like name@example\.org"):
        addresses.normalise("nobody at example.org")


def test_open_sign_on_refuses_a_non_ascii_local_part_in_the_page(client, db, make_user):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    token = csrf_from(client.get(url).text)
    response = client.post(url, data={"csrf_token": token, **sign_data(setup.letter.current_version_id,
                                                                        contact_email="jösé@example.org")},
                           files={"logo": ("", b"", "")})
    assert response.status_code == 422
    assert "outside plain A-Z" in response.text
    assert 'value="jösé@example.org"' in response.text, "what was typed is shown again"
    assert signatures(db) == []


def test_a_row_with_no_address_is_never_queued(db):
    assert service.enqueue(session=db, to="", template="test_message",
                           context={"name": "Nobody", "link": "http://testserver/"}) is None
    service.enqueue_new(session=db, emails=[
        service.NewEmail(to="", template="test_message", context={"name": "N", "link": "x"}, dedupe_key="a"),
        service.NewEmail(to="b@example.org", template="test_message", context={"name": "B", "link": "x"},
                         dedupe_key="b")])
    db.commit()
    assert [r.to_address for r in db.exec(select(OutboundEmail))] == ["b@example.org"]


def test_imported_signatories_get_no_mail_and_the_dashboard_says_so(client, db, make_user, login, settings):
    from backend.letters import files
    from backend.publishing import service as publishing

    lead = make_user(email="lead@lead.example", organisation="Lead Charity")
    path = Path(settings.letters_dir) / "restoring-trust-in-london-policing.md"
    letter = files.import_letter(session=db, letter_file=files.parse(path.read_text(encoding="utf-8")),
                                 author=lead)
    db.commit()
    imported = signatories = signatures(db)
    assert imported and all(s.contact_email == "" for s in signatories)
    publishing.publish(session=db, letter=letter, user=lead, ip=None)
    db.commit()
    db.rollback()
    assert [r for r in db.exec(select(OutboundEmail)) if not r.to_address.strip()] == []
    login(client, lead)
    page = client.get(f"/letters/{letter.slug}/signatories").text
    assert page.count("no email address: gets no mail") == len(imported)
