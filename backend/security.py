"""Tokens, CSRF and security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile

from backend.config import Settings
from backend.db import UNSAFE_METHODS

CSRF_FIELD = "csrf_token"
# Starlette refuses a form field over 1 MB before any route sees it; a pasted letter body over the
# service's limit must reach the form so it is answered with a clear message and the text kept.
FORM_FIELD_LIMIT = 8 * 1024 * 1024


def new_token() -> str:
    """A URL-safe random token of 256 bits."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored only as their SHA-256 (they are random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


CSRF_SEED_MIN_LENGTH = 32  # a shorter cookie is not one we set: the browser gets a new seed


def _settings(request: Request) -> Settings:
    """The settings the app was created with (`create_app(settings)`)."""
    settings: Settings = request.app.state.settings
    return settings


def csrf_token_for(cookie_value: str, secret_key: str) -> str:
    """The form token that goes with a CSRF seed."""
    key = secret_key.encode("utf-8")
    return hmac.new(key, b"csrf:" + cookie_value.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_cookie_value(request: Request) -> str:
    """The browser's CSRF seed: from its cookie, or a new one the middleware will set."""
    value = getattr(request.state, "csrf_seed", None)
    if value:
        return str(value)
    value = request.cookies.get(_settings(request).csrf_cookie_name) or ""
    if len(value) < CSRF_SEED_MIN_LENGTH:
        value = new_token()
        request.state.csrf_seed_new = True
    request.state.csrf_seed = value
    return value


def csrf_cookie(seed: str, settings: Settings) -> tuple[bytes, bytes]:
    """The Set-Cookie header that gives a browser its CSRF seed (as Starlette's `set_cookie` writes it)."""
    secure = "; Secure" if settings.is_production else ""
    return b"set-cookie", f"{settings.csrf_cookie_name}={seed}; HttpOnly; Path=/; SameSite=lax{secure}".encode()


def csrf_token(request: Request) -> str:
    """The token for the hidden field of every POST form (signed double-submit)."""
    return csrf_token_for(csrf_cookie_value(request), _settings(request).secret_key)


def csrf_valid(seed: str | None, sent: str | None, secret_key: str) -> bool:
    """Whether the token sent with a form goes with the browser's CSRF cookie."""
    return bool(seed) and bool(sent) and hmac.compare_digest(str(sent), csrf_token_for(str(seed), secret_key))


def is_form(request: Request) -> bool:
    """Whether the body is a form (media types are case-insensitive: `Multipart/Form-Data` is one too)."""
    content_type = request.headers.get("content-type", "").strip().casefold()
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


NUL_MESSAGE = "What was sent contains a NUL character (code 0), which cannot be stored. Remove it and try again."
CSRF_MESSAGE = "This form has expired or did not come from this site. Go back, reload the page and try again."


def nul_in_address(request: Request) -> bool:
    """Whether the path or the query string holds a NUL character (raw or %00)."""
    raw_query: bytes = request.scope.get("query_string", b"")
    return b"%00" in raw_query or b"\x00" in raw_query or "\x00" in request.scope["path"]


async def guard(request: Request) -> None:
    """The app-wide dependency, one for every route: no NUL in the address (PostgreSQL text cannot hold one); and
    for an unsafe request, its form read once: no NUL in a field (400), then a valid CSRF token (403), so no route
    can forget it. A GET or HEAD costs two byte scans."""
    if nul_in_address(request):
        raise HTTPException(400, NUL_MESSAGE)
    if request.scope["method"] not in UNSAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if is_form(request):
        try:
            form: FormData = await request.form(max_part_size=FORM_FIELD_LIMIT)
        except HTTPException:  # a body over its limit (backend.bodylimit): 413
            raise
        except Exception as exc:  # malformed multipart body
            raise HTTPException(400, "The form could not be read.") from exc
        if any(isinstance(value, str) and "\x00" in value for _, value in form.multi_items()):
            raise HTTPException(400, NUL_MESSAGE)
        if sent is None:
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) and not isinstance(value, UploadFile) else None
    settings = _settings(request)
    if not csrf_valid(request.cookies.get(settings.csrf_cookie_name), sent, settings.secret_key):
        raise HTTPException(403, CSRF_MESSAGE)


# Security headers ---------------------------------------------------------------------------------------------

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Addresses that carry a secret token: no Referer leaves them, and no cache keeps them.
TOKEN_PATH_PREFIXES = ("/verify", "/reset", "/invite", "/sign", "/confirm", "/manage", "/press", "/coalition")

Header = tuple[bytes, bytes]
_EVERY_ANSWER: tuple[Header, ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS: Header = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
_NO_REFERRER: Header = (b"referrer-policy", b"no-referrer")
_REFERRER: Header = (b"referrer-policy", b"strict-origin-when-cross-origin")
_NO_STORE: Header = (b"cache-control", b"no-store")


def security_headers(*, production: bool) -> tuple[tuple[Header, ...], tuple[Header, ...]]:
    """The headers every answer carries (built once per app): (for an ordinary address, for a token address)."""
    base = (*_EVERY_ANSWER, *((_HSTS,) if production else ()))
    return (*base, _REFERRER), (*base, _NO_REFERRER, _NO_STORE)


def add_security_headers(raw: list[Header], path: str, headers: tuple[tuple[Header, ...], tuple[Header, ...]]
                         ) -> None:
    """Adds the security headers (from `security_headers`) to a response's raw headers, keeping those the route
    set; on a token address the Referrer-Policy is always no-referrer."""
    present = {key for key, _ in raw}  # Starlette writes header names in lower case
    token_path = path.startswith(TOKEN_PATH_PREFIXES)
    if token_path and b"referrer-policy" in present:
        raw[:] = [(key, value) for key, value in raw if key != b"referrer-policy"]
        present.discard(b"referrer-policy")
    raw.extend(header for header in headers[token_path] if header[0] not in present)


def is_public_answer(raw: list[Header]) -> bool:
    """Whether a response may be kept by a shared cache (Cache-Control: public): it must set no cookie."""
    return any(key == b"cache-control" and b"public" in value for key, value in raw)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
