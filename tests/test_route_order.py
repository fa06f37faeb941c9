"""The routers' order (backend/routes.py) decides only how soon a request finds its route, never which route
answers it: no path of one router is also a path of another."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Match

from backend.config import get_settings
from backend.routes import routers


def _example(path: str) -> str:
    """A request path for a route's pattern: each parameter filled with a plain value."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_no_path_is_answered_by_two_routers() -> None:
    found = routers(get_settings())
    clashes = []
    for n, router in enumerate(found):
        for route in router.routes:
            path = getattr(route, "path", None)
            if not path:
                continue
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                scope = {"type": "http", "path": _example(path), "root_path": "", "method": method}
                for m, other in enumerate(found):
                    if m == n:
                        continue
                    for candidate in other.routes:
                        match, _ = candidate.matches(scope)
                        if match == Match.FULL:
                            clashes.append(f"{method} {path} is also {getattr(candidate, 'path', candidate)}")
    assert clashes == []


def test_the_busiest_public_pages_come_first() -> None:
    modules = [router.routes[0].endpoint.__module__ for router in routers(get_settings())]
    assert modules[:2] == ["backend.publishing.routes", "backend.signatures.routes"]


BUSIEST = [("GET", "/letters/x1"), ("GET", "/letters/x1/sign"), ("POST", "/letters/x1/sign"),
           ("GET", "/confirm/x1"), ("POST", "/confirm/x1")]


def _routes_in_order() -> list[Any]:
    from fastapi.routing import iter_route_contexts

    return [context.route for router in routers(get_settings()) for context in iter_route_contexts(router.routes)]


def test_the_busiest_public_requests_find_their_route_among_the_first_fifteen() -> None:
    # A publication day brings thousands of these; every route tried before a request's own costs it about
    # seven Python calls, so the coalition's pages of the same domains are matched after them.
    table = _routes_in_order()
    tried = {}
    for method, path in BUSIEST:
        scope = {"type": "http", "path": path, "root_path": "", "method": method}
        tried[f"{method} {path}"] = next(n for n, route in enumerate(table, 1)
                                         if route.matches(scope)[0] == Match.FULL)
    assert max(tried.values()) <= 15, tried
