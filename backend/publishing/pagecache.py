"""The one cache of public pages: rendered bytes by key, the key naming what they show.

A page's key is read with one statement (`public_key_of`): three columns by the unique slug, on a pooled
connection, with no ORM session and, on SQLite, no transaction around it.

The key is (letter id, public revision, day, kind): the services bump a letter's public revision whenever
anything public about it changes (`backend.publishing.revision`), and the day is in it because the reply
timeline counts working days from today. A key is never stale, so there is nothing to invalidate: a newer key
simply misses, and the entries of a letter's older revisions are dropped when a newer one is stored.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, bindparam
from sqlmodel import col, select

from backend.clock import LONDON
from backend.db import first_row, utcnow
from backend.letters.models import Letter

Key = tuple[int, int, str, str]  # letter id, public revision, day (Europe/London), kind ("page", "share", ...)
T = TypeVar("T")

_entries: dict[Key, Any] = {}  # bytes, or an immutable value (what signers read: `signatures.access.signing_text`)
_locks: dict[Key, threading.Lock] = {}
_guard = threading.Lock()


def cached(key: Key) -> bytes | None:
    """The bytes for this key if this process has them."""
    found = _entries.get(key)
    return found if isinstance(found, bytes) else None


def get_or_render(key: Key, render: Callable[[], T]) -> T:
    """The value for this key, rendered once per process (others asking meanwhile wait for that render)."""
    found = _entries.get(key)
    if found is not None:
        return cast(T, found)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        found = _entries.get(key)
        if found is None:
            found = render()
            with _guard:
                for old in [k for k in _entries if k[0] == key[0] and k[3] == key[3]]:
                    del _entries[old]
                _entries[key] = found
                _locks.pop(key, None)
    return cast(T, found)


def key_of(letter_id: int | None, revision: int, kind: str) -> Key:
    """The key of what a letter shows publicly at this revision today (Europe/London: the reply timeline counts
    working days from today, and an unsent letter is dated today)."""
    assert letter_id is not None
    return (letter_id, revision, utcnow().astimezone(LONDON).date().isoformat(), kind)


def key_by_content(letter_id: int | None, kind: str, made_of: tuple[Any, ...]) -> Key:
    """The key of something a letter shows that is made of `made_of` rather than of everything public about the
    letter: the text signers read does not change when a signature is confirmed, though the public revision does.
    Today's day is in it as in `key_of`; an entry of other content is dropped when this one is stored."""
    assert letter_id is not None
    digest = int.from_bytes(hashlib.blake2b(repr(made_of).encode(), digest_size=8).digest(), "big")
    return (letter_id, digest, utcnow().astimezone(LONDON).date().isoformat(), kind)


# The one query of a 304 or a cached page.
_KEY_QUERY = select(Letter.id, Letter.status, Letter.public_revision).where(col(Letter.slug) == bindparam("slug"))


def public_key_of(engine: Engine, slug: str) -> tuple[int, str, int] | None:
    """A letter's (id, status, public revision) by its slug: one prepared statement on a pooled DB-API
    connection (`backend.db.first_row`)."""
    row = first_row(engine, _KEY_QUERY, {"slug": slug})
    return None if row is None else (int(row[0]), str(row[1]), int(row[2]))


def clear() -> None:
    """Forgets every entry (tests)."""
    with _guard:
        _entries.clear()
        _locks.clear()


def etag_matches(given: str, etag: str) -> bool:
    """Whether an If-None-Match header value names this ETag (weak or strong, or `*`)."""
    return given.strip() == "*" or any(part.strip().removeprefix("W/") == etag for part in given.split(","))
