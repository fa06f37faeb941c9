"""Rate limits (the `limits` package, moving windows): counters in this process's memory, or in Redis when
`REDIS_URL` is set so that several server processes share them."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import lru_cache

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session

from backend.audit import service as audit
from backend.security import client_ip, hash_token
from backend.templating import current


class LocalStorage(Storage, MovingWindowSupport):
    """A `limits` storage in this process's memory, for moving windows, with no thread of its own.

    limits' own MemoryStorage starts a timer thread every 10 ms while it is in use, and each start makes the
    caller (the event loop, in a sign-on storm) wait for the new thread to run; each timer then copies the hit
    list of every key. Here each key keeps its hit times oldest first: a key's expired hits are dropped when
    the key is next used, and keys idle for longer than their window by a sweep at most once a minute.
    """

    STORAGE_SCHEME = ["undersigned-local"]
    SWEEP_SECONDS = 60.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 clock: Callable[[], float] = time.time, **_: str) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._counters: dict[str, tuple[int, float]] = {}  # fixed windows: key -> (count, expires at)
        self._forget_at: dict[str, float] = {}  # when a key's last hit has left its window
        self._next_sweep = clock() + self.SWEEP_SECONDS
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _in_window(self, key: str, now: float, expiry: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            self._forget_at[key] = now  # until it is hit: a key only checked is swept like an idle one
        cutoff = now - expiry
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_SECONDS
        for key in [key for key, at in self._forget_at.items() if at <= now]:
            del self._forget_at[key]
            self._hits.pop(key, None)
            self._counters.pop(key, None)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self._clock()
        with self._lock:
            self._sweep(now)
            hits = self._in_window(key, now, expiry)
            if len(hits) + amount > limit:
                return False
            hits.extend([now] * amount)
            self._forget_at[key] = now + expiry
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The time of the oldest hit still in the window (now if none) and the number of hits in it."""
        now = self._clock()
        with self._lock:
            hits = self._in_window(key, now, expiry)
            return (hits[0], len(hits)) if hits else (now, 0)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = self._clock()
        with self._lock:
            self._sweep(now)
            count, expires = self._counters.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + expiry
            self._counters[key] = (count + amount, expires)
            self._forget_at[key] = max(self._forget_at.get(key, 0.0), expires)
            return count + amount

    def get(self, key: str) -> int:
        count, expires = self._counters.get(key, (0, 0.0))
        return count if expires > self._clock() else 0

    def get_expiry(self, key: str) -> float:
        return self._counters.get(key, (0, self._clock()))[1]

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            keys = len(self._forget_at)
            self._hits.clear()
            self._counters.clear()
            self._forget_at.clear()
            return keys

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
            self._counters.pop(key, None)
            self._forget_at.pop(key, None)


_lock = threading.Lock()
_limiter: MovingWindowRateLimiter | None = None
_storage: Storage | None = None
_storage_url: str | None = None


def _get_limiter() -> MovingWindowRateLimiter:
    """The process-wide limiter, rebuilt if the configured storage changed."""
    global _limiter, _storage, _storage_url
    url = current().settings.redis_url or ""
    with _lock:
        if _limiter is None or url != _storage_url:
            storage = storage_from_string(url) if url else LocalStorage()
            assert isinstance(storage, Storage)  # the synchronous kind
            _storage = storage
            _limiter = MovingWindowRateLimiter(storage)
            _storage_url = url
        return _limiter


def _identifiers(scope: str, key: str) -> tuple[str, str]:
    # Keys may be email addresses: keep them out of a shared store.
    return scope, hash_token(key.casefold())[:32]


def _retry_after(limiter: MovingWindowRateLimiter, item: RateLimitItem, scope: str, key: str) -> int:
    stats = limiter.get_window_stats(item, *_identifiers(scope, key))
    return max(1, math.ceil(stats.reset_time - time.time()))


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    """The parsed limit ("20/minute"): parsed once, not on every request."""
    return parse(limit)


def hit(*, scope: str, key: str, limit: str) -> int | None:
    """Counts one attempt; returns the seconds to wait when over the limit, else None."""
    limiter = _get_limiter()
    item = _item(limit)
    if limiter.hit(item, *_identifiers(scope, key)):
        return None
    return _retry_after(limiter, item, scope, key)


def check(*, scope: str, key: str, limit: str) -> int | None:
    """Like `hit` but does not count: the seconds to wait if the limit is already reached, else None."""
    limiter = _get_limiter()
    item = _item(limit)
    if limiter.test(item, *_identifiers(scope, key)):
        return None
    return _retry_after(limiter, item, scope, key)


def reset() -> None:
    """Forgets every counter (tests call this between cases)."""
    with _lock:
        if _storage is not None:
            _storage.reset()


def too_many(retry_after: int) -> HTTPException:
    """The 429 answer, with Retry-After and a message a person can act on."""
    minutes = math.ceil(retry_after / 60)
    wait = f"{retry_after} seconds" if retry_after < 120 else f"{minutes} minutes"
    return HTTPException(
        429,
        f"There have been too many attempts. For your security, please wait {wait} and try again.",
        headers={"Retry-After": str(retry_after)},
    )


def enforce(
    *, request: Request, session: Session, scope: str, key: str, limit: str, count: bool = True,
    actor: str = "anonymous",
) -> None:
    """Counts (or only checks) an attempt; over the limit, audits the hit and raises the 429."""
    retry_after = (hit if count else check)(scope=scope, key=key, limit=limit)
    if retry_after is None:
        return
    audit.record(session=session, action="rate_limited", actor=actor, ip=client_ip(request),
                 details={"scope": scope, "retry_after": retry_after})
    session.commit()
    raise too_many(retry_after)
