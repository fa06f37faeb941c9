"""Rate limits (the `limits` package): counters in memory, or in Redis when `REDIS_URL` is set so that
several server processes share them."""

from __future__ import annotations

import math
import threading
import time

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session

from backend.config import get_settings
from backend.security import client_ip, hash_token

_lock = threading.Lock()
_limiter: MovingWindowRateLimiter | None = None
_storage: Storage | None = None
_storage_url: str | None = None


def _get_limiter() -> MovingWindowRateLimiter:
    """The process-wide limiter, rebuilt if the configured storage changed."""
    global _limiter, _storage, _storage_url
    url = get_settings().redis_url or "memory://"
    with _lock:
        if _limiter is None or url != _storage_url:
            storage = MemoryStorage() if url == "memory://" else storage_from_string(url)
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


def hit(*, scope: str, key: str, limit: str) -> int | None:
    """Counts one attempt; returns the seconds to wait when over the limit, else None."""
    limiter = _get_limiter()
    item = parse(limit)
    if limiter.hit(item, *_identifiers(scope, key)):
        return None
    return _retry_after(limiter, item, scope, key)


def check(*, scope: str, key: str, limit: str) -> int | None:
    """Like `hit` but does not count: the seconds to wait if the limit is already reached, else None."""
    limiter = _get_limiter()
    item = parse(limit)
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
    from backend.audit import service as audit

    audit.record(session=session, action="rate_limited", actor=actor, ip=client_ip(request),
                 details={"scope": scope, "retry_after": retry_after})
    session.commit()
    raise too_many(retry_after)
