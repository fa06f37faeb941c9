"""The open sign-on form goes through the ordinary route: routing, the CSRF check, the rate limit (counted before
the work) and the one declared form model, `SignForm`."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import csrf_from
from tests.signatures.helpers import (
    a_signature,
    audit_actions,
    open_letter,
    outbox,
    shared_renders,
    sign_data,
    signatures,
)


def _multipart(client: Any, url: str, data: dict[str, str], logo: tuple[str, bytes, str] = ("", b"", "")) -> Any:
    """POSTs the form as a browser does: multipart, with the (here empty) logo part."""
    token = csrf_from(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **data}, files={"logo": logo})


def test_a_good_sign_on(client, db, make_user):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    response = _multipart(client, url, sign_data(setup.letter.current_version_id))
    assert response.status_code == 303 and response.headers["location"] == f"{url}/sent"
    assert "Nearly done" in client.get(response.headers["location"]).text  # the flashed message
    [signature] = signatures(db)
    assert (signature.status, signature.via, signature.display_name) == ("pending", "open", "Friends of the Park")
    assert signature.version_id == setup.letter.current_version_id and signature.content_hash
    assert [e.to_address for e in outbox(db, "signature_confirm")] == ["sam@friends.example"]
    assert "signature_submitted" in audit_actions(db)
    # urlencoded, as a form without a file field would send it, is answered the same way
    response = client.post(url, data={"csrf_token": csrf_from(client.get(url).text),
                                      **sign_data(setup.letter.current_version_id, display_name="Other Charity",
                                                  contact_email="o@other.example")})
    assert response.status_code == 303 and len(signatures(db)) == 2
    from backend.audit import service as audit

    db.rollback()
    assert audit.verify_chain(session=db)


def test_the_form_s_fields_are_declared_once(client, db, make_user):
    """The page's inputs are the form model's fields (and the CSRF token and the logo): nothing else to keep in step."""
    from backend.signatures.forms import SignForm

    setup = open_letter(db, make_user, open_signon_enabled=True, allow_individuals=True, field_city="optional")
    page = client.get(f"/letters/{setup.letter.slug}/sign").text
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page))
    assert names == set(SignForm.model_fields) | {"csrf_token", "logo"}


def test_mistakes_are_answered_by_the_route(client, db, make_user):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    vid = setup.letter.current_version_id

    # A mistake in the form: the form again with the message and what was typed.
    response = _multipart(client, url, sign_data(vid, signer_name="", display_name="Typed Charity Name"))
    assert response.status_code == 422 and "Enter your name" in response.text
    assert 'value="Typed Charity Name"' in response.text
    # A bad CSRF token: 403, nothing stored.
    response = client.post(url, data={"csrf_token": "x" * 64, **sign_data(vid)}, files={"logo": ("", b"", "")})
    assert response.status_code == 403
    # A NUL character: 400 with the reason.
    response = _multipart(client, url, sign_data(vid, signer_name="Sam\x00"))
    assert response.status_code == 400 and "NUL" in response.text
    # A field longer than any form needs: 422 with a reason.
    response = _multipart(client, url, sign_data(vid, city="x" * 5001))
    assert response.status_code == 422 and "city" in response.text
    assert signatures(db) == []

    # A duplicate after a good one: the route names the problem.
    assert _multipart(client, url, sign_data(vid)).status_code == 303
    again = _multipart(client, url, sign_data(vid, contact_email="someone@else.example"))
    assert again.status_code == 422 and "one signature per organisation" in again.text
    assert len(signatures(db)) == 1 and len(outbox(db, "signature_confirm")) == 1

    # A logo is read and cleaned.
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 120, 30)).save(png, format="PNG")
    response = _multipart(client, url, sign_data(vid, display_name="Logo Charity", contact_email="l@logo.example"),
                          logo=("logo.png", png.getvalue(), "image/png"))
    assert response.status_code == 303
    assert [s.logo_path is not None for s in signatures(db) if s.display_name == "Logo Charity"] == [True]


def test_a_closed_letter_or_an_old_text_is_refused_with_the_route_s_message(client, db, make_user):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    vid = setup.letter.current_version_id
    response = _multipart(client, url, sign_data(vid + 1000))
    assert response.status_code == 422 and "text of the letter changed" in response.text
    page = client.get(url)
    setup.letter.status = "closed"
    db.add(setup.letter)
    db.commit()
    response = client.post(url, data={"csrf_token": csrf_from(page.text), **sign_data(vid)},
                           files={"logo": ("", b"", "")})
    assert response.status_code == 404
    assert signatures(db) == []


def test_the_rate_limit_still_holds(client, db, make_user, monkeypatch):
    from backend.config import get_settings

    monkeypatch.setattr(get_settings(), "rate_limit_sign", "2/minute")
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    vid = setup.letter.current_version_id
    for n in range(2):
        assert _multipart(client, url, sign_data(vid, display_name=f"C{n}", contact_email=f"c{n}@x.example")
                          ).status_code == 303
    response = _multipart(client, url, sign_data(vid, display_name="C3", contact_email="c3@x.example"))
    assert response.status_code == 429 and "too many attempts" in response.text.lower()
    assert len(signatures(db)) == 2


def test_every_attempt_counts_before_the_work(client, db, make_user, monkeypatch):
    """A refused form counts as an attempt too: the limit is hit before the form is looked at."""
    from backend.config import get_settings

    monkeypatch.setattr(get_settings(), "rate_limit_sign", "2/minute")
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    vid = setup.letter.current_version_id
    for _ in range(2):
        assert _multipart(client, url, sign_data(vid, signer_name="")).status_code == 422
    assert _multipart(client, url, sign_data(vid)).status_code == 429
    assert signatures(db) == [] and "rate_limited" in audit_actions(db)


def test_the_signing_page_shows_a_change_at_once(client, db, make_user):
    """The page is cached by the letter's public revision: a change made through a service shows at once."""
    from backend.db import utcnow
    from backend.signatures import moderation

    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    assert "Signed so far" not in client.get(url).text
    waiting = a_signature(db, setup.letter, name="Approved Charity", email="a@approved.example", status="confirmed",
                          confirmed_at=utcnow())
    db.commit()
    assert "Approved Charity" not in client.get(url).text  # confirmed, waiting for the lead: not listed yet
    moderation.moderate(session=db, letter=setup.letter, signature_id=waiting.id, approve=True, user=setup.lead,
                        ip=None)
    db.commit()
    assert "Approved Charity" in client.get(url).text
    setup.letter.status = "closed"
    db.add(setup.letter)
    db.commit()
    closed = client.get(url)  # the open link now says the letter is closed, with no form
    assert closed.status_code == 200 and "closed for signatures" in closed.text and "f-signer_name" not in closed.text


def test_the_text_signers_read_is_kept_by_what_it_is_made_of(client, db, make_user):
    """A new public revision that changes no word (a confirmation) reuses the rendered text; a recipient's new
    title, a new recipient list or a new version shows at once on the signing page."""
    from backend.letters import service as letters
    from backend.publishing import revision
    from backend.signatures import access

    setup = open_letter(db, make_user, open_signon_enabled=True)
    recipient = letters.create_recipient(session=db, organisation_id=setup.campaign.lead_organisation_id,
                                         name="Rt Hon Jane Example MP", position="Home Secretary")
    letters.set_recipients(session=db, letter=setup.letter, recipients=[recipient])
    db.commit()
    url = f"/letters/{setup.letter.slug}/sign"
    assert "Rt Hon Jane Example MP" in client.get(url).text
    first = access.signing_text(session=db, letter=setup.letter)
    revision.bump(session=db, letter_id=setup.letter.id)
    db.commit()
    assert access.signing_text(session=db, letter=setup.letter) is first  # not rendered again

    letters.update_recipient(session=db, recipient=recipient, name="Rt Hon Newly Appointed MP",
                             position="Home Secretary", recipient_organisation="Home Office")
    db.commit()
    assert "Rt Hon Newly Appointed MP" in client.get(url).text
    assert access.signing_text(session=db, letter=setup.letter) is not first

    extra = letters.create_recipient(session=db, organisation_id=setup.campaign.lead_organisation_id,
                                     name="Commissioner Example", position="Commissioner")
    letters.set_recipients(session=db, letter=setup.letter, recipients=[recipient, extra])
    db.commit()
    page = client.get(url).text
    assert "Commissioner Example" in page and "Rt Hon Newly Appointed MP" in page


def test_messages_and_people_logged_in_are_never_served_from_memory(client, db, make_user, login):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    login(client, setup.lead)
    page = client.get(url)
    assert page.status_code == 200 and "Lena Lead" in page.text
    client.cookies.clear()
    anonymous = client.get(url)
    assert "Lena Lead" not in anonymous.text


def test_tell_me_about_replies_is_read_from_the_declared_form(client, db, make_user):
    """Consent (issue 17): off unless ticked, on when ticked, through the one form model (issue 14)."""
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    assert 'name="notify_updates"' in client.get(url).text
    assert _multipart(client, url, sign_data(setup.letter.current_version_id)).status_code == 303
    assert _multipart(client, url, {**sign_data(setup.letter.current_version_id, display_name="Ticked Trust",
                                                contact_email="t@ticked.example"),
                                    "notify_updates": "yes"}).status_code == 303
    assert {s.display_name: s.notify_updates for s in signatures(db)} == {"Friends of the Park": False,
                                                                          "Ticked Trust": True}


def test_every_visitor_gets_their_own_token_on_a_page_rendered_once(client, db, make_user, monkeypatch):
    """The open signing page is rendered once for what it shows and kept; each visitor's answer carries their own
    CSRF token, which their sign-on then passes with. A change to the letter's sign-on settings shows at once."""
    renders = shared_renders(monkeypatch)
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    tokens = []
    for n in range(3):  # three visitors, one after another
        client.cookies.clear()
        page = client.get(url)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert "stand-in" not in page.text and "us_csrf" in page.headers["set-cookie"]
        tokens.append(csrf_from(page.text))
        response = client.post(url, data={"csrf_token": tokens[-1], **sign_data(
            setup.letter.current_version_id, display_name=f"Charity {n}", contact_email=f"c{n}@charity.example")},
            files={"logo": ("", b"", "")})
        assert response.status_code == 303, response.text
    assert len(set(tokens)) == 3 and renders == ["signatures/sign.html"]
    assert len(signatures(db)) == 3

    setup.letter.allow_individuals = True  # a sign-on setting, changed
    db.add(setup.letter)
    db.commit()
    client.cookies.clear()
    assert "Me, as an individual" in client.get(url).text and len(renders) == 2
