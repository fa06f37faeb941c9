"""Pages: Starlette's Jinja2Templates around the app's one environment (backend/templating.py), and flash."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from anyio import to_thread
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import escape

from backend.security import csrf_token
from backend.templating import Templating

__all__ = ["answer_shared", "flash", "is_anonymous_visit", "page_templates", "path_for", "render", "render_shared",
           "run_waiting", "stand_in", "templates_of"]


def page_templates(templating: Templating) -> Jinja2Templates:
    """Jinja2Templates on the one environment. Its `url_for(name, **path_params)` is the environment's: Starlette's
    signature, but it gives the path (`/letters/x`), not an absolute URL (backend/templating.py)."""
    return Jinja2Templates(env=templating.env)


def templates_of(request: Request) -> Jinja2Templates:
    """The app's page templates (`create_app` puts them on `app.state`)."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


def path_for(request: Request, name: str, /, **path_params: Any) -> str:
    """The path of a route by its name (`/letters/x`), for redirects and form actions: the app's templating's
    index of route names, as the templates' `url_for` reads it (backend/templating.py)."""
    templating: Templating = request.app.state.templating
    return templating.path_for(name, **path_params)


def flash(request: Request, message: str, category: str = "info") -> None:
    """Queues a message for the next page; stored in the server-side session or a short cookie."""
    pending = list(getattr(request.state, "flash_out", []))
    pending.append({"message": message, "category": category})
    request.state.flash_out = pending


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Renders a page with the globals: current user, CSRF token, flashed messages, the app's settings."""
    ctx = _page_globals(request, user=getattr(request.state, "user", None), token=csrf_token(request),
                        messages=getattr(request.state, "flash_in", []))
    ctx.update(context or {})
    return templates_of(request).TemplateResponse(request, name, ctx, status_code=status_code)


def _page_globals(request: Request, *, user: Any, token: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    """What every page's layout reads besides its own context."""
    return {"current_user": user, "csrf_token": token, "messages": messages, "settings": request.app.state.settings}


# A page that every visitor not logged in sees alike but for a few values of their own (the CSRF token of its form;
# on a confirmation page also the signer's names and link) can be rendered once with stand-ins and kept by key
# (`render_shared`); each answer then carries the visitor's own values in their places (`answer_shared`), escaped
# as the template would have escaped them. A stand-in is URL-safe and unchanged by escaping, so it comes out of a
# template, text, attribute or URL, as it went in; it ends with a dot, so no name is read as a longer one.
_STAND_IN_PREFIX = "stand-in-" + secrets.token_urlsafe(18) + "-"
_STAND_INS = re.compile(re.escape(_STAND_IN_PREFIX.encode()) + rb"([a-z_]+)\.")
_CSRF = "csrf_token"


def stand_in(name: str) -> str:
    """The stand-in of this visitor's value `name` (lower-case letters and `_`) in a page rendered for every
    visitor."""
    return f"{_STAND_IN_PREFIX}{name}."


def is_anonymous_visit(request: Request) -> bool:
    """Nobody logged in and no message waiting: a page for this visitor is the page for every such visitor."""
    return getattr(request.state, "user", None) is None and not getattr(request.state, "flash_in", None)


def render_shared(request: Request, name: str, context: dict[str, Any]) -> bytes:
    """The page as every anonymous visitor sees it, with the stand-in CSRF token and whatever stand-ins the
    context holds (see `answer_shared`)."""
    ctx = {**_page_globals(request, user=None, token=stand_in(_CSRF), messages=[]), "request": request, **context}
    return templates_of(request).get_template(name).render(ctx).encode("utf-8")


def answer_shared(request: Request, page: bytes, own: Mapping[str, str] | None = None) -> HTMLResponse:
    """A page from `render_shared`, with this visitor's CSRF token and `own` values (by stand-in name) in place of
    the stand-ins, in one pass: a value is never read again for stand-ins."""
    values = {_CSRF.encode(): csrf_token(request).encode(),
              **{name.encode(): str(escape(value)).encode() for name, value in (own or {}).items()}}
    return HTMLResponse(_STAND_INS.sub(lambda found: values[found.group(1)], page))


T = TypeVar("T")

# Work that may wait for the worker (a download whose document is being built, up to DOCUMENT_WAIT_SECONDS) runs in
# threads of its own, `app.state.waiting_threads`: a burst of first downloads on publication day never takes the
# few threads every other sync route shares (SERVE_THREADS).
WAITING_THREADS = 64


async def run_waiting(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Runs `work(*args)` in a thread kept for requests that wait for the worker."""
    return await to_thread.run_sync(work, *args, limiter=request.app.state.waiting_threads)
