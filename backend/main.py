"""create_app(): routers, static files, middleware, error pages, the embedded worker."""

from __future__ import annotations

import base64
import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import PROJECT_ROOT, worker
from backend.accounts import service as accounts
from backend.accounts.deps import LoginRequired
from backend.bodylimit import BodyLimit
from backend.config import Settings, get_settings
from backend.db import close_request_session, make_engine
from backend.errors import ServiceError
from backend.migrations import ensure_current
from backend.routes import include_routers
from backend.security import add_security_headers, csrf_cookie, guard, is_public_answer, security_headers
from backend.templating import Templating, install
from backend.web import WAITING_THREADS, page_templates, path_for, render

log = logging.getLogger(__name__)


def _load_user(engine: Any, settings: Settings, token: str) -> Any:
    with Session(engine, expire_on_commit=False) as session:
        found = accounts.lookup_session(session=session, settings=settings, token=token)
        return found[1] if found else None


def create_app(settings: Settings | None = None, engine: Any = None, run_worker: bool | None = None) -> FastAPI:
    """The app. Without `settings`, those of the environment: the one documented entry point reading them."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    run_worker = settings.embedded_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_current(engine, settings.database_url)
        # Sync routes run in this many threads (anyio's default is 40): under a storm, fewer threads take turns
        # on the one interpreter lock with less waiting, and the slowest answers come back twice as fast
        # (docs/benchmarks.md). Waits for the worker have threads of their own (`web.run_waiting`).
        to_thread.current_default_thread_limiter().total_tokens = settings.serve_threads
        stop = None
        if run_worker:
            _, stop = worker.start_thread(engine, settings)
        yield
        if stop is not None:
            stop.set()

    app = FastAPI(
        title="Undersigned",
        description="Open letters for coalitions of charities. The JSON API lives under /api/v1.",
        lifespan=lifespan,
        dependencies=[Depends(guard)],
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.waiting_threads = CapacityLimiter(WAITING_THREADS)
    # The one Jinja environment, for pages (app.state.templates) and for what is rendered outside a request.
    app.state.templating = install(Templating(settings, router=app.router))
    app.state.templates = page_templates(app.state.templating)

    app.add_middleware(SessionAndHeaders, settings=settings, engine=engine)
    # Before anything reads a body: its size, per kind of form (backend/bodylimit.py).
    app.add_middleware(BodyLimit)

    _install_error_handlers(app)

    app.mount("/static", StaticFiles(directory=str(PROJECT_ROOT / "templates" / "static")), name="static")
    include_routers(app, settings)
    return app


def _encode_flash(messages: list[dict[str, str]]) -> str:
    return base64.urlsafe_b64encode(json.dumps(messages[-5:]).encode()).decode()


def _decode_flash(raw: str) -> list[dict[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return [
            {"message": str(m["message"])[:500], "category": str(m.get("category", "info"))[:20]}
            for m in data if isinstance(m, dict) and "message" in m
        ][:5]
    except (ValueError, TypeError, KeyError):
        return []


class SessionAndHeaders:
    """Pure ASGI middleware: loads the logged-in user and the flashed messages into `request.state`; on the way
    out adds the security headers and sets or clears the session, CSRF and flash cookies.

    (Not `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every response through an extra task
    and a memory stream, which costs a sign-on storm a good share of its throughput.)
    """

    def __init__(self, app: ASGIApp, settings: Settings, engine: Any) -> None:
        self.app = app
        self.settings = settings
        self.engine = engine
        self.security_headers = security_headers(production=settings.is_production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings
        scope.setdefault("state", {})
        request = Request(scope)
        request.state.user = None
        token = request.cookies.get(settings.session_cookie_name)
        if token:
            request.state.user = await run_in_threadpool(_load_user, self.engine, settings, token)
        raw_flash = request.cookies.get(settings.flash_cookie_name)
        request.state.flash_in = _decode_flash(raw_flash) if raw_flash else []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message["headers"] = list(message.get("headers", []))
                add_security_headers(raw, scope["path"], self.security_headers)
                if not is_public_answer(raw):  # a page a shared cache may keep sets no cookie
                    _set_cookies(request, MutableHeaders(raw=raw), settings, token, raw_flash)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            close_request_session(scope["state"])


def _set_cookies(request: Request, headers: MutableHeaders, settings: Settings, token: str | None,
                 raw_flash: str | None) -> None:
    """The session, CSRF and flash cookies, on the headers of the response about to be sent."""
    state = request.state
    if not (token or raw_flash or getattr(state, "csrf_seed_new", False) or getattr(state, "flash_out", None)
            or getattr(state, "new_session", None) is not None or getattr(state, "end_session", False)):
        return  # most answers: no cookie to set or clear
    cookies = Response()  # only for Starlette's cookie formatting
    cookies.raw_headers.clear()
    secure = settings.is_production
    if getattr(state, "csrf_seed_new", False):
        headers.append(*(part.decode("latin-1") for part in csrf_cookie(state.csrf_seed, settings)))
    new_session = getattr(state, "new_session", None)
    if token and state.user is None and not new_session:
        cookies.delete_cookie(settings.session_cookie_name, path="/", secure=secure, httponly=True, samesite="lax")
    if new_session is not None:
        cookies.set_cookie(settings.session_cookie_name, new_session, httponly=True, samesite="lax",
                           secure=secure, path="/")
    if getattr(state, "end_session", False):
        cookies.delete_cookie(settings.session_cookie_name, path="/", secure=secure, httponly=True, samesite="lax")
    flash_out = getattr(state, "flash_out", None)
    if flash_out:
        cookies.set_cookie(settings.flash_cookie_name, _encode_flash(flash_out), httponly=True, samesite="lax",
                           secure=secure, path="/")
    elif raw_flash and headers.get("content-type", "").startswith("text/html"):
        cookies.delete_cookie(settings.flash_cookie_name, path="/", secure=secure, httponly=True, samesite="lax")
    for key, value in cookies.raw_headers:
        headers.append(key.decode("latin-1"), value.decode("latin-1"))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "").split(",")[0]


def _error_page(request: Request, status_code: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)
    titles = {
        400: "That request could not be used", 403: "You cannot do that", 404: "Page not found",
        405: "That is not allowed here", 409: "That clashes with something already saved",
        413: "That is too large", 422: "Please check what you entered",
        429: "Too many attempts", 500: "Something went wrong",
    }
    response = render(
        request, "error.html",
        {"status_code": status_code, "title": titles.get(status_code, "Something went wrong"), "detail": detail},
        status_code=status_code,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "That request could not be used."
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address. It may have moved, or it is not public yet."
        if exc.status_code == 405:
            detail = "This address does not accept that kind of request."
        return _error_page(request, exc.status_code, detail, dict(exc.headers or {}))

    @app.exception_handler(StarletteHTTPException)
    async def starlette_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return await http_error(request, HTTPException(exc.status_code, exc.detail, dict(exc.headers or {})))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": jsonable_errors(exc)}, status_code=422)
        problems = "; ".join(
            f"{'/'.join(str(p) for p in err.get('loc', [])[1:]) or 'request'}: {err.get('msg')}"
            for err in exc.errors()[:5]
        )
        return _error_page(request, 422, f"Some of what was sent could not be used ({problems}).")

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        return _error_page(request, exc.status_code, exc.message)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "Log in first."}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = path_for(request, "login")
        return RedirectResponse(f"{login}?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(DataError)
    async def unstorable_value(request: Request, exc: DataError) -> Response:
        # The database refused a value that passed validation (e.g. a number out of its range): the
        # transaction is rolled back with the request's session, so nothing is half-stored.
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
        return _error_page(request, 400, "Some of what was sent cannot be stored (a value is out of range or "
                           "contains a character the database does not accept).")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_page(request, 500, "Something went wrong on our side. Nothing you typed was saved twice; "
                           "please try again in a moment.")


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", [])), "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in exc.errors()]


# A request allocates thousands of short-lived objects: with Python's default (700) the collector runs several
# times per sign-on and walks the long-lived objects of the app each time. Those are frozen out of its sight
# once the app is built, and the youngest generation is collected less often (docs/benchmarks.md).
GC_THRESHOLD = (10_000, 10, 10)


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory backend.main:app_factory` (a serving process)."""
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    return app


