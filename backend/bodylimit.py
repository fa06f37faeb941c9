"""Request body limits, checked before anything parses a body: from Content-Length, and again while it streams.

Each kind of form has its own ceiling: a few kilobytes of text for most forms (logging in, confirming a
signature), more where a logo, a CSV file, a pasted letter or a reply's PDF is expected. A body over its
ceiling is answered 413 with a reason, and is never read past it, so nothing of it reaches a temporary file.
"""

from __future__ import annotations

import re

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.db import UNSAFE_METHODS

KB = 1024
MB = 1024 * KB

PLAIN = 64 * KB  # any form of short fields
LOGO = 3 * MB  # a form with a logo (2 MB at most, backend.signatures.logos) or a CSV of invites (2 MB)
TEXT = 9 * MB  # a pasted letter (the form reads fields of up to 8 MB, so the service can say what is too long)
ATTACHMENT = 11 * MB  # a reply with its PDF (10 MB at most, backend.responses.replies)

# (path pattern, ceiling), first match wins; anything else gets PLAIN.
RULES: tuple[tuple[re.Pattern[str], int], ...] = tuple((re.compile(pattern), size) for pattern, size in (
    (r"^/letters/[^/]+/sign$", LOGO),
    (r"^/sign/[^/]+$", LOGO),
    (r"^/manage/[^/]+$", LOGO),
    (r"^/organisations(/|$)", LOGO),
    (r"^/letters/[^/]+/signatories/(invites|order)$", LOGO),
    (r"^/campaigns/[^/]+/letters/(new|preview)$", TEXT),
    (r"^/letters/[^/]+/(edit|preview)$", TEXT),
    (r"^/letters/[^/]+/responses/(new|\d+/edit)$", ATTACHMENT),
))


def limit_for(path: str) -> int:
    """The largest body this address takes."""
    for pattern, size in RULES:
        if pattern.match(path):
            return size
    return PLAIN


def _too_large(limit: int) -> HTTPException:
    size = f"{limit // MB} MB" if limit >= MB else f"{limit // KB} KB"
    return HTTPException(413, f"What was sent is larger than this form takes ({size} at most). If you attached a "
                              "file, choose a smaller one.")


class BodyLimit:
    """Pure ASGI: raises the 413 (an HTTPException, answered by the app's error pages) at the first read of a
    body whose Content-Length is over the ceiling, or as soon as the bytes read go over it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = next((value for key, value in scope["headers"] if key == b"content-length"), None)
        over = declared is not None and (not declared.isdigit() or int(declared) > limit)
        received = 0

        async def limited() -> Message:
            nonlocal received
            if over:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited, send)
