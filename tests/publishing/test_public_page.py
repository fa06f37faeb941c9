"""The public letter page's lean path: a cacheable answer sets no cookie, carries the security headers, and a
matching ETag is a 304 with no body."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from tests.publishing.helpers import ready_letter


def _published_path(db: Any, make_user: Any) -> str:
    from backend.publishing import service

    ready = ready_letter(db, make_user)
    service.publish(session=db, letter=ready.letter, user=ready.lead, ip=None)
    db.commit()
    return f"/letters/{ready.letter.slug}"


def test_a_public_page_sets_no_cookie_even_for_a_browser_with_a_flash_or_a_stale_session(
        db: Any, make_user: Any, client: Any, settings: Any) -> None:
    path = _published_path(db, make_user)
    client.cookies.set(settings.flash_cookie_name, "e30=")  # a flash waiting for the next ordinary page
    client.cookies.set(settings.session_cookie_name, "not-a-session")  # would be cleared on another page
    for response in (client.get(path), client.get(path, headers={"If-None-Match": client.get(path).headers["etag"]})):
        assert response.status_code in (200, 304)
        assert "set-cookie" not in response.headers, response.headers.get("set-cookie")
        assert response.headers["cache-control"].startswith("public")
    # An ordinary page still does its cookie work.
    assert "set-cookie" in client.get("/login").headers


def test_a_public_page_carries_the_security_headers_once(db: Any, make_user: Any, client: Any) -> None:
    response = client.get(_published_path(db, make_user))
    assert response.status_code == 200
    for name, value in (("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"),
                        ("referrer-policy", "strict-origin-when-cross-origin"),
                        ("cross-origin-opener-policy", "same-origin")):
        assert response.headers.get_list(name) == [value], name
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert len(response.headers.get_list("content-security-policy")) == 1


@pytest.mark.parametrize("given", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_a_matching_etag_is_a_304_without_a_body(db: Any, make_user: Any, client: Any, given: str) -> None:
    path = _published_path(db, make_user)
    etag = client.get(path).headers["etag"]
    response = client.get(path, headers={"If-None-Match": given.format(etag=etag)})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag and "x-content-type-options" in response.headers


def test_a_public_page_names_no_request_header_it_does_not_vary_by(db: Any, make_user: Any, client: Any) -> None:
    """The page is the same bytes whatever the request's Accept-Encoding (the app compresses nothing): a Vary on
    it made every hit of nginx's proxy cache open and read two cache files (the key's, then its variant's)."""
    path = _published_path(db, make_user)
    for response in (client.get(path), client.get(path, headers={"Accept-Encoding": "gzip"}),
                     client.get(path, headers={"If-None-Match": client.get(path).headers["etag"]})):
        assert response.status_code in (200, 304) and "vary" not in response.headers


def test_another_etag_gets_the_page(db: Any, make_user: Any, client: Any) -> None:
    path = _published_path(db, make_user)
    response = client.get(path, headers={"If-None-Match": '"page-0-0-2000-01-01"'})
    assert response.status_code == 200 and b"<html" in response.content.lower()


def test_the_page_key_is_one_lookup_by_slug(db: Any, make_user: Any, engine: Any) -> None:
    from backend.letters.models import Letter
    from backend.publishing import pagecache

    path = _published_path(db, make_user)
    letter = db.exec(select(Letter).where(Letter.slug == path.rsplit("/", 1)[1])).one()
    assert pagecache.public_key_of(engine, letter.slug) == (letter.id, "published", letter.public_revision)
    assert pagecache.public_key_of(engine, "no-such-letter") is None


def test_the_guard_refuses_a_nul_in_a_get_address_and_lets_a_get_pass_without_a_token(
        db: Any, make_user: Any, client: Any) -> None:
    path = _published_path(db, make_user)
    assert client.get(path + "?q=%00").status_code == 400
    assert client.get(path).status_code == 200  # no CSRF token asked of a GET
