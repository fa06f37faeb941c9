"""Route dependencies: the current user, and log-in required."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.accounts.models import User
from backend.accounts.policy import ensure_site_admin
from backend.errors import Forbidden


class LoginRequired(Exception):
    """Raised to send an anonymous visitor to the log-in page and back."""


# These only read what the middleware loaded: async, so FastAPI does not hand each one to a thread of its own.
async def optional_user(request: Request) -> User | None:
    return getattr(request.state, "user", None)


def _require_user(request: Request) -> User:
    user: User | None = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired()
    return user


async def require_user(request: Request) -> User:
    return _require_user(request)


async def require_admin(request: Request) -> User:
    return ensure_site_admin(_require_user(request))


CurrentUser = Annotated[User, Depends(require_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
AdminUser = Annotated[User, Depends(require_admin)]


def ensure_verified(user: User) -> User:
    """Refuses an account whose email address is not yet confirmed (for services and routes alike)."""
    if user.verified_at is None:
        raise Forbidden("Confirm your email address first: follow the link we emailed you, "
                        "or ask for a new one from your account page.")
    return user


async def require_verified(request: Request) -> User:
    return ensure_verified(_require_user(request))


# A logged-in user whose email address is confirmed (needed to create campaigns).
VerifiedUser = Annotated[User, Depends(require_verified)]
