"""The routers' order (backend/routes.py) decides only how soon a request finds its route, never which route
answers it: no path of one router is also a path of another."""

from __future__ import annotations

import re

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
