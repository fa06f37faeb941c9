"""The one cache of public pages: rendered bytes by key, the key naming what they show.

The key is (letter id, public revision, day, kind): the services bump a letter's public revision whenever
anything public about it changes (`backend.publishing.revision`), and the day is in it because the reply
timeline counts working days from today. A key is never stale, so there is nothing to invalidate: a newer key
simply misses, and the entries of a letter's older revisions are dropped when a newer one is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Key = tuple[int, int, str, str]  # letter id, public revision, day (Europe/London), kind ("page", "share")

_entries: dict[Key, bytes] = {}
_locks: dict[Key, threading.Lock] = {}
_guard = threading.Lock()


def cached(key: Key) -> bytes | None:
    """The bytes for this key if this process has them."""
    return _entries.get(key)


def get_or_render(key: Key, render: Callable[[], bytes]) -> bytes:
    """The bytes for this key, rendered once per process (others asking meanwhile wait for that render)."""
    found = _entries.get(key)
    if found is not None:
        return found
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
    return found


def clear() -> None:
    """Forgets every entry (tests)."""
    with _guard:
        _entries.clear()
        _locks.clear()


def etag_matches(given: str, etag: str) -> bool:
    """Whether an If-None-Match header value names this ETag (weak or strong, or `*`)."""
    return given.strip() == "*" or any(part.strip().removeprefix("W/") == etag for part in given.split(","))
