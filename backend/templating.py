"""The one Jinja environment of a process: pages, emails, the letter, the press pack.

`create_app(settings)` builds a `Templating` and puts it on `app.state.templating`; the worker and the CLI build
theirs from their settings (with the route table, so emails can link by route name). The last one built by an
entry point is the process's `current()`, for code that renders without a request (a queued email, a PDF).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import Router

from backend.clock import LONDON
from backend.config import Settings, get_settings
from backend.db import as_utc
from backend.security import CSRF_FIELD


def london(value: datetime | None, fmt: str = "%-d %B %Y, %H:%M %Z") -> str:
    """A datetime shown in Europe/London with its zone (GMT or BST)."""
    if value is None:
        return ""
    aware = as_utc(value)
    assert aware is not None
    return aware.astimezone(LONDON).strftime(fmt)


def build_environment(settings: Settings) -> Environment:
    """The environment: HTML and XML escaped, text (emails' .txt, the press pack's README) not."""
    env = Environment(
        loader=FileSystemLoader(settings.templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), disabled_extensions=("txt",),
                                     default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Outside development a template changes only with a deploy (and a restart): no stat() of it per render.
        auto_reload=settings.is_development,
    )
    env.filters["london"] = london
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.globals["settings"] = settings
    return env


class Templating:
    """The environment built from one `Settings`, and links by route name for what is read outside the site."""

    def __init__(self, settings: Settings, router: Router | None = None) -> None:
        self.settings = settings
        self.router = router
        self.env = build_environment(settings)
        self.env.globals["absolute_url_for"] = self.absolute_url_for

    def absolute_url_for(self, name: str, /, **path_params: Any) -> str:
        """`https://site.example/letters/x` for a route name: links in emails, feeds and the press pack."""
        if self.router is None:
            raise RuntimeError("absolute_url_for needs the route table: build Templating(settings, router)")
        path = self.router.url_path_for(name, **{k: str(v) for k, v in path_params.items()})
        return self.settings.base_url.rstrip("/") + str(path)


_lock = threading.Lock()
_current: Templating | None = None
_by_settings: dict[int, tuple[Settings, Templating]] = {}


def install(templating: Templating) -> Templating:
    """Makes `templating` the process's current one (called by the entry points: create_app, worker, cli)."""
    global _current
    with _lock:
        _current = templating
        _by_settings[id(templating.settings)] = (templating.settings, templating)
    return templating


def current() -> Templating:
    """The templating the entry point installed; without one (a script, a service tested alone), one from the
    environment's settings."""
    found = _current
    if found is None:
        return install(Templating(get_settings()))  # entry point of last resort, documented above
    return found


def for_settings(settings: Settings) -> Templating:
    """The templating of these settings (built once per settings object, with the current route table)."""
    with _lock:
        known = _by_settings.get(id(settings))
        if known is not None and known[0] is settings:
            return known[1]
    router = _current.router if _current is not None else None
    templating = Templating(settings, router)
    with _lock:
        _by_settings[id(settings)] = (settings, templating)
    return templating
