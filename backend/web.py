"""Jinja2 templates for pages and the template globals every page needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.clock import LONDON
from backend.config import get_settings
from backend.security import CSRF_FIELD, csrf_token

templates = Jinja2Templates(directory=get_settings().templates_dir)
# Outside development a template changes only with a deploy (and a restart): no stat() of it on each render.
templates.env.auto_reload = get_settings().is_development


def london(value: datetime | None, fmt: str = "%-d %B %Y, %H:%M %Z") -> str:
    """A datetime shown in Europe/London with its zone (GMT or BST)."""
    if value is None:
        return ""
    from backend.db import as_utc

    aware = as_utc(value)
    assert aware is not None
    return aware.astimezone(LONDON).strftime(fmt)


templates.env.filters["london"] = london
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD


def flash(request: Request, message: str, category: str = "info") -> None:
    """Queues a message for the next page; stored in the server-side session or a short cookie."""
    pending = list(getattr(request.state, "flash_out", []))
    pending.append({"message": message, "category": category})
    request.state.flash_out = pending


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Renders a page with the globals: current user, CSRF token, flashed messages, settings."""
    ctx: dict[str, Any] = {
        "current_user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "messages": getattr(request.state, "flash_in", []),
        "settings": get_settings(),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
