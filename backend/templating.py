"""The one Jinja environment of a process: pages, emails, the letter, the press pack.

`create_app(settings)` builds a `Templating` and puts it on `app.state.templating`; the worker and the CLI build
theirs from their settings (with the route table, so emails can link by route name). The last one built by an
entry point is the process's `current()`, for code that renders without a request (a queued email, a PDF).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from fastapi.routing import iter_route_contexts
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.routing import BaseRoute, NoMatchFound, Router

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
        self._by_name: dict[str, list[Any]] = {}
        self._paths: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}  # (name, params) -> path, made once
        self.env = build_environment(settings)
        self.env.globals["absolute_url_for"] = self.absolute_url_for
        # Before Jinja2Templates wraps the environment (it only sets its own `url_for` when there is none).
        self.env.globals["url_for"] = self._url_for

    @pass_context
    def _url_for(self, context: Context, name: str, /, **path_params: Any) -> str:
        """`url_for(route_name, **path_params)` in every template: the path (`/letters/x`), from the request's
        app when there is one, else from the route table (a page rendered once for everyone, a PDF)."""
        request = context.get("request")
        if request is not None and request.app.router is not self.router:
            return request.scope.get("root_path", "") + str(request.app.url_path_for(name, **path_params))
        root = request.scope.get("root_path", "") if request is not None else ""
        return root + self.path_for(name, **path_params)

    def path_for(self, name: str, /, **path_params: Any) -> str:
        """The path of a route by its name, from the route table.

        The routes of that name are found in an index made once from the table (FastAPI's own route contexts, the
        ones its OpenAPI reads), and each builds its own path: a link costs a lookup, where the router's
        `url_path_for` tries every route in turn and raises NoMatchFound for each (a third of a sign-on page's
        time). A name the index lacks (a route added later) is looked up the router's way.
        """
        if self.router is None:
            raise RuntimeError("url_for needs the route table: build Templating(settings, router)")
        params = {k: str(v) for k, v in path_params.items()}
        key = (name, tuple(params.items()))
        path = self._paths.get(key)
        if path is None:
            path = self._path(name, params)
            if len(self._paths) >= PATHS_KEPT:  # links with a token in them are each asked for once or twice
                self._paths.clear()
            self._paths[key] = path
        return path

    def _path(self, name: str, params: dict[str, str]) -> str:
        if not self._by_name:
            self._by_name = _routes_by_name(self.router.routes)  # type: ignore[union-attr]
        for route in self._by_name.get(name, ()):
            try:
                return str(route.url_path_for(name, **params))
            except NoMatchFound:
                continue
        return str(self.router.url_path_for(name, **params))  # type: ignore[union-attr]

    def absolute_url_for(self, name: str, /, **path_params: Any) -> str:
        """`https://site.example/letters/x` for a route name: links in emails, feeds and the press pack."""
        return self.settings.base_url.rstrip("/") + self.path_for(name, **path_params)


PATHS_KEPT = 4096  # the paths a process keeps by route name and parameters (the site's links, a page's logos)


def _routes_by_name(routes: list[BaseRoute]) -> dict[str, list[Any]]:
    """Route name -> its routes (as FastAPI's route contexts, prefixes applied), in the order they are matched."""
    found: dict[str, list[Any]] = {}
    for route in iter_route_contexts(routes):
        if route.name:
            found.setdefault(route.name, []).append(route)
    return found


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
    """The templating the entry point installed (create_app, the CLI, a test suite's engine fixture); without one,
    one from the environment's settings that cannot link by route name."""
    found = _current
    if found is None:
        # The entry point of last resort: the environment's settings, without the route table (which sits above
        # the domains), so links by route name raise until an entry point installs one.
        return install(Templating(get_settings()))
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
