"""The open sign-on on publication day: the signing page from memory with each visitor's own CSRF token, and the
form's POST answered by the sign-on lane and written in batches, with everything unusual left to the route."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest
from sqlmodel import col, select

from tests.conftest import csrf_from
from tests.signatures.helpers import audit_actions, open_letter, outbox, sign_data, signatures


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many sign-ons each batch of the sign-on writer stored (so a test can tell the lane answered)."""
    from backend.signatures.signon import SignOnWriter

    stored: list[int] = []
    original = SignOnWriter.write

    def counting(self: SignOnWriter, batch: list[Any]) -> None:
        original(self, batch)
        failed = [f.exception() for *_, f in batch if f.exception() is not None]
        assert not any(type(e).__name__ in ("TypeError", "AttributeError", "KeyError") for e in failed), failed
        stored.append(len(batch) - len(failed))

    monkeypatch.setattr(SignOnWriter, "write", counting)
    return stored


def _multipart(client: Any, url: str, data: dict[str, str], logo: tuple[str, bytes, str] = ("", b"", "")) -> Any:
    """POSTs the form as a browser does: multipart, with the (here empty) logo part."""
    token = csrf_from(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **data}, files={"logo": logo})


def test_a_good_sign_on_is_answered_by_the_lane(client, db, make_user, writes):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    response = _multipart(client, url, sign_data(setup.letter.current_version_id))
    assert response.status_code == 303 and response.headers["location"] == f"{url}/sent"
    assert writes == [1]
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
    assert response.status_code == 303 and writes == [1, 1]
    from backend.audit import service as audit

    db.rollback()
    assert audit.verify_chain(session=db)


def test_what_the_lane_does_not_answer_goes_to_the_route_unchanged(client, db, make_user, writes):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    vid = setup.letter.current_version_id

    # A mistake in the form: the route shows the form again with the message and what was typed.
    response = _multipart(client, url, sign_data(vid, signer_name="", display_name="Typed Charity Name"))
    assert response.status_code == 422 and "Enter your name" in response.text
    assert 'value="Typed Charity Name"' in response.text
    # A bad CSRF token: 403, nothing stored.
    response = client.post(url, data={"csrf_token": "x" * 64, **sign_data(vid)}, files={"logo": ("", b"", "")})
    assert response.status_code == 403
    # A NUL character: 400 with the reason.
    response = _multipart(client, url, sign_data(vid, signer_name="Sam\x00"))
    assert response.status_code == 400 and "NUL" in response.text
    assert signatures(db) == [] and writes == [0]  # only the mistake reached the writer (and was refused)

    # A duplicate after a good one: the route names the problem.
    assert _multipart(client, url, sign_data(vid)).status_code == 303
    again = _multipart(client, url, sign_data(vid, contact_email="someone@else.example"))
    assert again.status_code == 422 and "one signature per organisation" in again.text
    assert len(signatures(db)) == 1 and len(outbox(db, "signature_confirm")) == 1

    # A logo is read and cleaned by the route.
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 120, 30)).save(png, format="PNG")
    before = len(writes)
    response = _multipart(client, url, sign_data(vid, display_name="Logo Charity", contact_email="l@logo.example"),
                          logo=("logo.png", png.getvalue(), "image/png"))
    assert response.status_code == 303 and len(writes) == before
    assert [s.logo_path is not None for s in signatures(db) if s.display_name == "Logo Charity"] == [True]


def test_a_closed_letter_or_an_old_text_is_refused_with_the_route_s_message(client, db, make_user, writes):
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


def test_the_rate_limit_still_holds(client, db, make_user, monkeypatch, writes):
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


def _batch(slug: str, items: list[Any]) -> list[tuple[str, Any, str, concurrent.futures.Future[Any]]]:
    return [(slug, data, "127.0.0.1", concurrent.futures.Future()) for data in items]


def test_a_batch_refuses_one_sign_on_and_keeps_the_others(engine, db, make_user):
    from backend.signatures import service
    from backend.signatures.routes import signature_input
    from backend.signatures.signon import SignOnWriter

    setup = open_letter(db, make_user, open_signon_enabled=True)
    vid = setup.letter.current_version_id
    forms = [sign_data(vid, display_name=f"Charity {n}", contact_email=f"c{n}@batch.example") for n in range(5)]
    forms[2] = sign_data(vid, display_name="Charity 0", contact_email="dup@batch.example")  # same organisation
    forms[3] = sign_data(vid, signer_name="", display_name="No Name", contact_email="n@batch.example")
    forms.append(dict(forms[1]))  # the same submission twice in one batch: the second is refused
    batch = _batch(setup.letter.slug, [signature_input(f, None) for f in forms])
    batch.append(("no-such-letter", signature_input(forms[4], None), "127.0.0.1", concurrent.futures.Future()))
    writer = SignOnWriter(engine)
    writer.write(batch)
    writer.stop()
    outcomes = [f.exception() or f.result() for *_, f in batch]
    assert [type(o).__name__ for o in outcomes] == ["Signed", "Signed", "InvalidInput", "SignatureInvalid",
                                                    "Signed", "InvalidInput", "NotFound"]
    assert "one signature per organisation" in str(outcomes[5])
    stored = {s.contact_email for s in signatures(db)}
    assert stored == {"c0@batch.example", "c1@batch.example", "c4@batch.example"}
    assert sorted(e.to_address for e in outbox(db, "signature_confirm")) == sorted(stored)
    tokens = db.exec(select(service.SignatureToken).where(col(service.SignatureToken.purpose) == "confirm")).all()
    assert len(tokens) == 3
    from backend.audit import service as audit

    db.rollback()
    assert audit_actions(db).count("signature_submitted") == 3 and audit.verify_chain(session=db)


def test_a_batch_that_cannot_be_committed_stores_nothing_and_each_sign_on_goes_to_the_route(
        engine, db, make_user, monkeypatch):
    from backend.mail import service as mail
    from backend.signatures.routes import signature_input
    from backend.signatures.signon import SignOnWriter

    setup = open_letter(db, make_user, open_signon_enabled=True)
    vid = setup.letter.current_version_id
    batch = _batch(setup.letter.slug, [signature_input(sign_data(vid, display_name=f"C{n}",
                                                                 contact_email=f"c{n}@x.example"), None)
                                       for n in range(3)])

    def broken(**_: Any) -> None:
        raise RuntimeError("the outbox is full")

    monkeypatch.setattr(mail, "enqueue_new", broken)
    writer = SignOnWriter(engine)
    writer.write(batch)
    writer.stop()
    assert all(isinstance(f.exception(), RuntimeError) for *_, f in batch)
    assert signatures(db) == [] and outbox(db, "signature_confirm") == []


def test_the_writer_connects_again_after_its_connection_broke(engine, db, make_user):
    from backend.signatures.routes import signature_input
    from backend.signatures.signon import SignOnWriter

    setup = open_letter(db, make_user, open_signon_enabled=True)
    vid = setup.letter.current_version_id
    batches = [_batch(setup.letter.slug, [signature_input(sign_data(vid, display_name=f"C{n}",
                                                                    contact_email=f"c{n}@x.example"), None)])
               for n in range(3)]
    writer = SignOnWriter(engine)
    writer.write(batches[0])
    assert writer._connection is not None
    writer._connection.connection.dbapi_connection.close()  # as when the database server restarts
    writer.write(batches[1])  # fails: this sign-on goes to the route
    writer.write(batches[2])
    writer.stop()
    assert batches[0][0][3].exception() is None and batches[2][0][3].exception() is None
    assert batches[1][0][3].exception() is not None
    assert {s.contact_email for s in signatures(db)} == {"c0@x.example", "c2@x.example"}


def test_the_signing_page_from_memory_has_each_visitor_s_own_token(app, client, db, make_user, monkeypatch):
    from fastapi.testclient import TestClient

    from backend.signatures import service

    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"

    def no_queries(**_: Any) -> Any:
        raise AssertionError("the page was rendered again")

    monkeypatch.setattr(service, "get_shown_while_open", no_queries)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        second = other.get(url)
        assert second.status_code == 200
        assert "set-cookie" in second.headers and csrf_from(second.text) != csrf_from(first.text)
        # the same bytes but for the token
        assert second.text.replace(csrf_from(second.text), "T") == first.text.replace(csrf_from(first.text), "T")
        # and the token works: the form goes through with the new visitor's cookie
        response = other.post(url, data={"csrf_token": csrf_from(second.text),
                                         **sign_data(setup.letter.current_version_id)},
                              files={"logo": ("", b"", "")})
        assert response.status_code == 303
    # a returning visitor keeps the token their cookie gives, and gets no new cookie
    again = client.get(url)
    assert csrf_from(again.text) == csrf_from(first.text) and "set-cookie" not in again.headers
    for header in ("content-security-policy", "x-frame-options", "content-type", "referrer-policy"):
        assert again.headers[header] == first.headers[header]


def test_the_signing_page_shows_a_change_at_once(client, db, make_user):
    from backend.db import utcnow
    from backend.signatures.models import Signature

    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    assert "Signed so far" not in client.get(url).text
    now = utcnow()
    db.add(Signature(letter_id=setup.letter.id, version_id=setup.letter.current_version_id, kind="organisation",
                     display_name="Approved Charity", name_key="approved charity", signer_name="A",
                     contact_email="a@approved.example", email_key="a@approved.example", status="approved",
                     via="open", confirmed_at=now, approved_at=now))
    db.commit()
    assert "Approved Charity" in client.get(url).text
    setup.letter.status = "closed"
    db.add(setup.letter)
    db.commit()
    closed = client.get(url)  # the open link now says the letter is closed, with no form
    assert closed.status_code == 200 and "closed for signatures" in closed.text and "f-signer_name" not in closed.text


def test_messages_and_people_logged_in_are_never_served_from_memory(client, db, make_user, login):
    setup = open_letter(db, make_user, open_signon_enabled=True)
    url = f"/letters/{setup.letter.slug}/sign"
    login(client, setup.lead)
    page = client.get(url)
    assert page.status_code == 200 and "Lena Lead" in page.text
    client.cookies.clear()
    anonymous = client.get(url)
    assert "Lena Lead" not in anonymous.text


def _encoded(fields: list[tuple[str, str]], files: list[tuple[str, tuple[str, bytes, str]]]) -> tuple[bytes, bytes]:
    """A multipart body as Chromium and Firefox write this form (CRLF, quoted names, the file input always sent:
    `filename=""` and no bytes when no file was chosen)."""
    boundary = b"----WebKitFormBoundaryu7wgT3pOUmS2kvRs"
    body = b""
    for name, value in fields:
        body += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (
            boundary, name.encode(), value.encode())
    for name, (filename, data, content_type) in files:
        body += (b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                 % (boundary, name.encode(), filename.encode(), content_type.encode())) + data + b"\r\n"
    return b"multipart/form-data; boundary=" + boundary, body + b"--%s--\r\n" % boundary


@pytest.mark.parametrize("fields", [
    [("kind", "organisation"), ("display_name", "Friends of the Park"), ("csrf_token", "abc.def")],
    [("display_name", "Ünïcødé — “quoted” & <b>"), ("signer_role", "")],
    [("city", "line one\r\nline two\r\n"), ("website", "--not-a-boundary")],
    [("display_name", "x" * 5001)],  # too long: the route says so
    [("display_name", "a\x00b")],  # NUL: the route says so
])
@pytest.mark.parametrize("logo", [("", b"", "application/octet-stream"), ("logo.png", b"\x89PNG...", "image/png"),
                                  None])
def test_the_lane_reads_a_browser_s_multipart_form_as_python_multipart_does(fields: Any, logo: Any) -> None:
    from backend.signatures.signon import _Form

    content_type, body = _encoded(fields, [("logo", logo)] if logo else [])
    boundary = content_type.split(b"boundary=")[1]
    fast, slow = _Form._parse_browser_multipart(boundary, body), _Form._parse_multipart(boundary, body)
    assert fast is not None  # the fast reading applies to this shape
    assert slow is None or (fast.fields, fast.has_file) == (slow.fields, slow.has_file)
    parsed = _Form.parse(content_type, body)
    if slow is None:
        assert parsed is None and fast.bad
    else:
        assert parsed is not None and parsed.fields == dict(fields) and parsed.has_file == bool(logo and logo[0])


@pytest.mark.parametrize("body", [
    b"preamble\r\n--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--\r\n",
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B\r\n",  # no closing delimiter
    b"--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--B--\r\n",
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Other: 1\r\n\r\n1\r\n--B--\r\n",
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset=latin-1\r\n\r\n\xe9"
    b"\r\n--B--\r\n",
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--B--\r\n",
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n1\r\n--B--\r\n",
])
def test_the_lane_leaves_any_other_multipart_shape_to_python_multipart(body: bytes) -> None:
    from backend.signatures.signon import _Form

    assert _Form._parse_browser_multipart(b"B", body) is None
    parsed = _Form.parse(b"multipart/form-data; boundary=B", body)
    slow = _Form._parse_multipart(b"B", body)
    assert (parsed.fields if parsed else None) == (slow.fields if slow else None)
