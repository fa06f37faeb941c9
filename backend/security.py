"""Tokens, CSRF and security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile
from starlette.requests import cookie_parser

from backend.config import get_settings
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


def csrf_token_for(cookie_value: str) -> str:
    """The form token that goes with a CSRF seed."""
    key = get_settings().secret_key.encode("utf-8")
    return hmac.new(key, b"csrf:" + cookie_value.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_cookie_value(request: Request) -> str:
    """The browser's CSRF seed: from its cookie, or a new one the middleware will set."""
    value = getattr(request.state, "csrf_seed", None)
    if value:
        return str(value)
    value = request.cookies.get(get_settings().csrf_cookie_name) or ""
    if len(value) < CSRF_SEED_MIN_LENGTH:
        value = new_token()
        request.state.csrf_seed_new = True
    request.state.csrf_seed = value
    return value


def csrf_cookie(seed: str) -> tuple[bytes, bytes]:
    """The Set-Cookie header that gives a browser its CSRF seed (as Starlette's `set_cookie` writes it)."""
    settings = get_settings()
    secure = "; Secure" if settings.is_production else ""
    return b"set-cookie", f"{settings.csrf_cookie_name}={seed}; HttpOnly; Path=/; SameSite=lax{secure}".encode()


def csrf_seed_of(cookie_header: str | None) -> str | None:
    """The CSRF seed in a raw Cookie header, if it holds a usable one (as `csrf_cookie_value` reads it)."""
    name = get_settings().csrf_cookie_name
    if not cookie_header or name not in cookie_header:
        return None
    value = cookie_parser(cookie_header).get(name) or ""
    return value if len(value) >= CSRF_SEED_MIN_LENGTH else None


def csrf_token(request: Request) -> str:
    """The token for the hidden field of every POST form (signed double-submit)."""
    return csrf_token_for(csrf_cookie_value(request))


def csrf_valid(seed: str | None, sent: str | None) -> bool:
    """Whether the token sent with a form goes with the browser's CSRF cookie."""
    return bool(seed) and bool(sent) and hmac.compare_digest(str(sent), csrf_token_for(str(seed)))


def is_form(request: Request) -> bool:
    """Whether the body is a form (media types are case-insensitive: `Multipart/Form-Data` is one too)."""
    content_type = request.headers.get("content-type", "").strip().casefold()
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: every unsafe request must carry a valid token, so no route can forget it."""
    if request.method not in UNSAFE_METHODS:
        return
    seed = request.cookies.get(get_settings().csrf_cookie_name)
    sent = request.headers.get("x-csrf-token")
    if sent is None and is_form(request):
        try:
            form: FormData = await request.form(max_part_size=FORM_FIELD_LIMIT)
        except HTTPException:  # a body over its limit (backend.bodylimit): 413
            raise
        except Exception as exc:  # malformed multipart body
            raise HTTPException(400, "The form could not be read.") from exc
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) and not isinstance(value, UploadFile) else None
    if not csrf_valid(seed, sent):
        raise HTTPException(
            403,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )


NUL_MESSAGE = "What was sent contains a NUL character (code 0), which cannot be stored. Remove it and try again."


def nul_in_address(request: Request) -> bool:
    """Whether the path or the query string holds a NUL character (raw or %00)."""
    raw_query: bytes = request.scope.get("query_string", b"")
    return b"%00" in raw_query or b"\x00" in raw_query or "\x00" in request.scope["path"]


async def reject_nul_characters(request: Request) -> None:
    """App-wide dependency: no NUL in the query string or a form field (PostgreSQL text cannot hold one)."""
    if nul_in_address(request):
        raise HTTPException(400, NUL_MESSAGE)
    if request.method in UNSAFE_METHODS and is_form(request):
        try:
            form: FormData = await request.form(max_part_size=FORM_FIELD_LIMIT)
        except HTTPException:  # a body over its limit (backend.bodylimit): 413
            raise
        except Exception as exc:  # malformed multipart body
            raise HTTPException(400, "The form could not be read.") from exc
        if any(isinstance(value, str) and "\x00" in value for _, value in form.multi_items()):
            raise HTTPException(400, NUL_MESSAGE)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
