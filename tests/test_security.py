"""The security base: CSRF on every POST route, security headers, and no placeholder secret in production."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from backend.config import PLACEHOLDER_SECRET, Settings


def _post_routes(app) -> list[str]:
    """Every path that answers POST, with included routers flattened (FastAPI keeps them nested)."""
    paths = []
    for route in iter_route_contexts(app.routes):
        if route.path and "POST" in (route.methods or ()):
            # Fill path parameters with harmless values: the CSRF check runs before the route.
            paths.append(re.sub(r"\{[^}]+\}", "1", route.path))
    return sorted(set(paths))


def test_there_are_post_routes_to_check(app):
    paths = _post_routes(app)
    assert {"/login", "/logout", "/signup", "/reset"} <= set(paths)


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(app, client, make_user, login):
    login(client, make_user(is_admin=True))  # so that log-in is never what refuses the request
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    for path in _post_routes(app):
        missing = client.post(path, data={"name": "x"})
        assert missing.status_code == 403, f"POST {path} without a CSRF token got {missing.status_code}"
        wrong = client.post(path, data={"csrf_token": token[:-4] + "abcd", "name": "x"})
        assert wrong.status_code == 403, f"POST {path} with a wrong CSRF token got {wrong.status_code}"
        multipart = client.post(path, data={"csrf_token": "nope"}, files={"f": ("a.txt", b"x", "text/plain")})
        assert multipart.status_code == 403, f"POST {path} (multipart, bad token) got {multipart.status_code}"
    assert "This form has expired" in client.post("/login", data={}).text


def test_a_token_from_another_browser_is_refused(app, client):
    from fastapi.testclient import TestClient

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        other.get("/login")  # has its own CSRF cookie
        response = other.post("/login", data={"csrf_token": token, "email": "a@example.org", "password": "x"})
        assert response.status_code == 403


def test_security_headers_on_pages(client):
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # only outside development and tests


@pytest.mark.parametrize("path", ["/verify/not-a-real-token", "/reset/not-a-real-token", "/reset"])
def test_token_pages_send_no_referrer(client, path):
    response = client.get(path)
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "object-src 'none'" in response.headers["content-security-policy"]


def test_cookies_are_httponly_and_lax(client, make_user, login):
    login(client, make_user())
    cookies = client.get("/login").headers.get_list("set-cookie") + login(client, make_user()).headers.get_list(
        "set-cookie")
    for cookie in cookies:
        if cookie.startswith(("us_session=", "us_csrf=")):
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_placeholder_secret_is_refused_in_production():
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production", secret_key=PLACEHOLDER_SECRET)
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production", secret_key="too-short")
    strong = Settings(environment="production", secret_key="k" * 48, smtp_host="relay.example.org",
                      fast_password_hashing=False)
    assert strong.session_cookie_name.startswith("__Host-")
    Settings(environment="development", secret_key=PLACEHOLDER_SECRET)  # fine for development


def test_cheap_password_hashing_is_refused_in_production():
    with pytest.raises(ValueError, match="FAST_PASSWORD_HASHING"):
        Settings(environment="production", secret_key="k" * 48, smtp_host="relay.example.org",
                 fast_password_hashing=True)


def test_production_sends_hsts_and_secure_host_cookies(engine):
    from fastapi.testclient import TestClient

    from backend.main import create_app

    prod = Settings(environment="production", secret_key="k" * 48, base_url="https://testserver",
                    smtp_host="relay.example.org", fast_password_hashing=False,
                    database_url=str(engine.url.render_as_string(hide_password=False)))
    with TestClient(create_app(prod, engine=engine, run_worker=False), base_url="https://testserver") as c:
        response = c.get("/login")
        assert "max-age=" in response.headers["strict-transport-security"]


@pytest.mark.parametrize("url", ["/api/v1/letters?limit=1&organisation=%00", "/letters?q=a%00b"])
def test_a_nul_character_in_the_address_is_a_400_with_a_reason(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.text


def test_a_nul_character_in_a_form_is_a_400_and_nothing_is_stored(client, post, db):
    from sqlmodel import func, select

    from backend.accounts.models import User

    response = post(client, "/signup", {"name": "Ada\x00Lovelace", "email": "ada@example.org",
                                        "password": "engine analytical notes", "organisation": "Friends"})
    assert response.status_code == 400
    assert "NUL character" in response.text
    db.rollback()
    assert db.exec(select(func.count()).select_from(User)).one() == 0


def test_a_value_the_database_refuses_is_a_400_not_a_500(engine, settings):
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import DataError

    from backend.main import create_app

    app = create_app(settings, engine=engine, run_worker=False)

    @app.get("/api/v1/refused-value")
    def refused() -> None:
        raise DataError("INSERT ...", {}, ValueError("integer out of range"))

    with TestClient(app) as c:
        response = c.get("/api/v1/refused-value")
    assert response.status_code == 400
    assert "cannot be stored" in response.json()["detail"]
