"""Password hashing: argon2id at pwdlib's recommended cost, or a cheap argon2id for test suites only."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from backend.security import new_token
from backend.templating import current


@lru_cache
def hasher() -> PasswordHash:
    """The hasher for new hashes; a hash made at another cost still verifies (and is updated on log-in)."""
    if current().settings.fast_password_hashing:
        # ~3 ms instead of ~0.25 s a hash: a test suite creates and logs in hundreds of accounts.
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash.recommended()


@lru_cache
def dummy_hash() -> str:
    """A hash of a random password, verified when the account is unknown so timing does not reveal it.
    Made on first use rather than at import (it costs as much as a log-in)."""
    return hasher().hash(new_token())
