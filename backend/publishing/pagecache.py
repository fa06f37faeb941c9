"""The public letter page, answered from memory on publication day.

The route renders the page once per published change (its ETag is the publishing fingerprint) and `offer`s it;
the ASGI middleware below keeps it with the headers it was sent with, then answers GET and HEAD for that
address straight from memory, with the same headers and no database query, for
PUBLIC_PAGE_REVALIDATE_SECONDS after the fingerprint was last checked. After that, one request goes through to
the route, which checks the fingerprint again (and renders again only if something changed); meanwhile the
others are still answered from memory.

A change committed in this process drops the entries of the letters it touched at once (session events
below), so an editor or a signatory sees their change on the next request. A change made by another server
process is seen within the revalidation interval; the page carries `Cache-Control: max-age=60` anyway.

A page with a form (the open sign-on page) is kept too: the route offers it with the CSRF token it was
rendered with, and each visitor gets the same bytes with their own token (and, for a new visitor, the
Set-Cookie of a new CSRF seed). Such a page is never answered 304 and never stored by a CDN (no-store). When
its letter changes it is marked stale rather than dropped: the next request renders it again while requests
arriving meanwhile still get the stale copy, so a stream of confirmations on publication day does not make
every visitor wait for a render of the "signed so far" list.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.db import utcnow
from backend.security import csrf_cookie, csrf_seed_of, csrf_token_for, new_token

LONDON = ZoneInfo("Europe/London")
# Tables whose rows appear on a public letter page (directly or through the reply timeline).
PAGE_TABLES = frozenset({
    "letter", "letter_version", "signature", "quote", "press_contact", "letter_tag", "letter_recipient",
    "recipient", "response", "commitment", "commitment_evidence", "dispatch",
    "public_document", "commitment_measure", "commitment_evidence_revision",
})
# Rows that carry their letter's id: only that letter's page is dropped when they change.
LETTER_ID_TABLES = frozenset({"signature", "quote", "press_contact", "letter_tag", "letter_recipient",
                              "letter_version"})
ALL = -1


@dataclass
class Entry:
    letter_id: int
    etag: str
    body: bytes
    headers: list[tuple[bytes, bytes]]  # for the 200; the 304 leaves out content-type and content-length
    checked_at: float
    day: date
    revalidating: bool = False
    csrf_token: str | None = None  # the token the page was rendered with: replaced by each visitor's own
    stale: bool = False


_entries: dict[str, Entry] = {}
_lock = threading.Lock()


def _today() -> date:
    return utcnow().astimezone(LONDON).date()


def store(*, path: str, letter_id: int, etag: str, body: bytes, headers: list[tuple[bytes, bytes]],
          csrf_token: str | None = None) -> None:
    """Keeps the page at `path` as the route has just checked it."""
    with _lock:
        _entries[path] = Entry(letter_id=letter_id, etag=etag, body=body, headers=headers,
                               checked_at=time.monotonic(), day=_today(), csrf_token=csrf_token)


@dataclass
class _Remembered:
    value: str
    checked_at: float
    day: date


_fingerprints: dict[tuple[int, str], _Remembered] = {}


def remembered_fingerprint(*, letter_id: int, kind: str, max_age: float, compute: Callable[[], str]) -> str:
    """A letter's fingerprint of this kind as computed at most `max_age` seconds ago (and today), else anew.

    For the press pack's files: its fingerprint is a few aggregate queries, most of a cached download's time.
    Dropped with the letter's pages when this process commits a change to it, so it is as fresh as they are.
    """
    key = (letter_id, kind)
    now, today = time.monotonic(), _today()
    with _lock:
        known = _fingerprints.get(key)
    if known is not None and now - known.checked_at < max_age and known.day == today:
        return known.value
    value = compute()
    with _lock:
        _fingerprints[key] = _Remembered(value=value, checked_at=now, day=today)
    return value


def forget(letter_ids: set[int] | None = None) -> None:
    """Drops the pages of these letters (of every letter when None), and their remembered fingerprints."""
    with _lock:
        if letter_ids is None or ALL in letter_ids:
            _entries.clear()
            _fingerprints.clear()
            return
        for key in [k for k in _fingerprints if k[0] in letter_ids]:
            del _fingerprints[key]
        for path in [p for p, e in _entries.items() if e.letter_id in letter_ids]:
            if _entries[path].csrf_token is not None:
                _entries[path].stale = True
            else:
                del _entries[path]


def clear() -> None:
    forget(None)


# Dropping pages when this process commits a change -----------------------------------------------------

def _touched(session: Session) -> set[int]:
    found: set[int] = session.info.setdefault("public_pages_touched", set())
    return found


def _note(session: Session, table: str | None, obj: Any = None) -> None:
    if table not in PAGE_TABLES:
        return
    if table == "letter" and obj is not None and getattr(obj, "id", None) is not None:
        _touched(session).add(int(obj.id))
    elif table in LETTER_ID_TABLES and obj is not None and getattr(obj, "letter_id", None) is not None:
        _touched(session).add(int(obj.letter_id))
    else:
        _touched(session).add(ALL)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        _note(session, getattr(getattr(obj, "__table__", None), "name", None), obj)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        _note(state.session, getattr(table, "name", None))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    touched = session.info.pop("public_pages_touched", None)
    if touched:
        forget(touched)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # only the outermost transaction, not a savepoint
        session.info.pop("public_pages_touched", None)


# The middleware ---------------------------------------------------------------------------------------

STATE_KEY = "public_page"


def offer(state: Any, *, letter_id: int, etag: str, body: bytes, csrf_token: str | None = None) -> None:
    """Called by the route with `request.state`: the middleware keeps the page with the headers it was sent with.

    A page with a form passes the CSRF token it was rendered with (and an empty `etag`).
    """
    setattr(state, STATE_KEY, (letter_id, etag, body, csrf_token))


class PublicPageCache:
    """Pure ASGI: answers a fresh cached public letter page without entering the app."""

    def __init__(self, app: ASGIApp, revalidate_seconds: float = 1.0, skip_cookies: tuple[str, ...] = (),
                 csrf_cookie: str = "") -> None:
        self.app = app
        self.revalidate = revalidate_seconds
        self.skip_cookies = tuple(f"{name}=".encode() for name in skip_cookies)
        self.csrf_cookie = f"{csrf_cookie}=".encode()

    def _cacheable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or scope.get("query_string"):
            return False
        # Someone logged in, or with a message waiting: the app must see the request (it may clear a cookie).
        return not any(key == b"cookie" and any(c in value for c in self.skip_cookies)
                       for key, value in scope["headers"])

    def _fresh(self, entry: Entry) -> bool:
        age = time.monotonic() - entry.checked_at
        if age <= self.revalidate and not entry.stale and entry.day == _today():
            return True
        with _lock:
            if entry.revalidating and age <= self.revalidate + 10:
                return True  # another request is checking it now: answer with what we have
            entry.revalidating = True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.revalidate <= 0 or not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        entry = _entries.get(path)
        if entry is not None and self._fresh(entry):
            if entry.csrf_token is not None:
                await self._answer_form(scope, send, entry)
            else:
                await _answer(scope, send, entry)
            return
        await self._through(scope, receive, send, path, entry)

    async def _through(self, scope: Scope, receive: Receive, send: Send, path: str, entry: Entry | None) -> None:
        """Lets the app answer; keeps what it offered (a 200's headers, or the old ones after a 304)."""
        state = scope.setdefault("state", {})
        state.pop(STATE_KEY, None)
        sent: dict[str, Any] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = list(message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            offered = state.pop(STATE_KEY, None)
            status = sent.get("status")
            headers = sent.get("headers", [])
            csrf_token = offered[3] if offered is not None else None
            if csrf_token is not None:  # this visitor's new CSRF seed is theirs alone; others get their own
                headers = [(k, v) for k, v in headers if not (k == b"set-cookie" and v.startswith(self.csrf_cookie))]
            if offered is None or status not in (200, 304) or any(k == b"set-cookie" for k, _ in headers):
                if entry is not None:
                    with _lock:
                        _entries.pop(path, None)
            else:
                letter_id, etag, body, csrf_token = offered
                if status == 200:
                    store(path=path, letter_id=letter_id, etag=etag, body=body, headers=headers,
                          csrf_token=csrf_token)
                elif entry is not None and entry.etag == etag:
                    store(path=path, letter_id=letter_id, etag=etag, body=body, headers=entry.headers)
                elif entry is not None:
                    with _lock:
                        _entries.pop(path, None)


    async def _answer_form(self, scope: Scope, send: Send, entry: Entry) -> None:
        """The page with this visitor's own CSRF token (a new seed in a cookie if they had none)."""
        assert entry.csrf_token is not None
        cookie = next((v for k, v in scope["headers"] if k == b"cookie" and self.csrf_cookie in v), None)
        seed = csrf_seed_of(cookie.decode("latin-1")) if cookie is not None else None
        headers = entry.headers
        if seed is None:
            seed = new_token()
            headers = [*headers, csrf_cookie(seed)]
        body = b"" if scope["method"] == "HEAD" else entry.body.replace(entry.csrf_token.encode(),
                                                                       csrf_token_for(seed).encode())
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _answer(scope: Scope, send: Send, entry: Entry) -> None:
    given = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
    if given is not None and etag_matches(given.decode("latin-1"), entry.etag):
        headers = [(k, v) for k, v in entry.headers if k not in (b"content-type", b"content-length")]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else entry.body})


def etag_matches(given: str, etag: str) -> bool:
    """Whether an If-None-Match header value names this ETag (weak or strong, or `*`)."""
    return given.strip() == "*" or any(part.strip().removeprefix("W/") == etag for part in given.split(","))
