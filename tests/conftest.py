"""The test harness: a fresh database per run (SQLite, or PostgreSQL with TEST_DATABASE_URL), a real SMTP
server on loopback, a live server and a browser on the system Chromium for journeys, and an axe check."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

# Settings are read from the environment once, so set them before anything imports the app.
_TMP = Path(tempfile.mkdtemp(prefix="undersigned-tests-"))
os.environ.update(
    {
        "ENVIRONMENT": "test",
        "SECRET_KEY": "test-secret-" + secrets.token_hex(16),
        "EMBEDDED_WORKER": "false",
        "LOAD_EXAMPLES": "false",
        "MEDIA_DIR": str(_TMP / "media"),
        "BASE_URL": "http://testserver",
        "MAIL_FROM": "Undersigned <no-reply@undersigned.test>",
        "OUTBOX_POLL_SECONDS": "0.2",
        # Argon2 at a test cost: hundreds of accounts are created and logged in (backend/accounts/passwords.py).
        "FAST_PASSWORD_HASHING": "true",
    }
)
os.environ.pop("SMTP_HOST", None)
os.environ.pop("REDIS_URL", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- SMTP ----------------------------------------------------------------------------------------

@dataclass
class ReceivedMail:
    envelope_to: list[str]
    raw: bytes
    peer: Any = None  # the client's (address, port): one per SMTP connection

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s<>\"')]+", self.text)

    def attachments(self) -> list[tuple[str, str, bytes]]:
        return [
            (a.get_filename() or "", a.get_content_type(), a.get_payload(decode=True))
            for a in self.message.iter_attachments()
        ]


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback. `reject` makes it answer RCPT with that code."""

    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    reject: tuple[int, str] | None = None
    delay: float = 0.0  # seconds before answering DATA, as a distant server takes
    controller: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
        self.reject = None
        self.delay = 0.0

    def messages_to(self, address: str) -> list[ReceivedMail]:
        with self.lock:
            return [m for m in self.received if address.casefold() in [a.casefold() for a in m.envelope_to]]

    def wait_for(self, count: int, timeout: float = 15.0, to: str | None = None) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages_to(to) if to else list(self.received)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        found = self.messages_to(to) if to else list(self.received)
        raise AssertionError(f"expected {count} message(s){' to ' + to if to else ''}, got {len(found)}")

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if sink.reject is not None:
                    code, text = sink.reject
                    return f"{code} {text}"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                with sink.lock:
                    sink.received.append(ReceivedMail(list(envelope.rcpt_tos), bytes(envelope.original_content
                                                                                      or envelope.content),
                                                      session.peer))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", _free_port())
    sink.start()
    os.environ["SMTP_HOST"] = sink.host
    os.environ["SMTP_PORT"] = str(sink.port)
    from backend.config import get_settings

    get_settings.cache_clear()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_server: SmtpSink) -> Iterator[SmtpSink]:
    smtp_server.clear()
    if smtp_server.controller is None:
        smtp_server.start()
    yield smtp_server
    smtp_server.clear()
    if smtp_server.controller is None:
        smtp_server.start()


# --- Database ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def database_url(smtp_server: SmtpSink) -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{_TMP / 'test.db'}"
        os.environ["DATABASE_URL"] = url
        yield url
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"undersigned_test_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = url
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Any:
    from backend.config import get_settings

    get_settings.cache_clear()
    s = get_settings()
    assert s.database_url == database_url
    return s


@pytest.fixture(scope="session")
def engine(settings: Any) -> Iterator[Any]:
    from backend.db import make_engine
    from backend.migrations import upgrade

    upgrade(settings.database_url)
    eng = make_engine(settings.database_url)
    # What an entry point does: the one Jinja environment, with the route table (emails link by route name).
    from backend.routes import route_table
    from backend.templating import Templating, install

    install(Templating(settings, router=route_table(settings)))
    yield eng
    eng.dispose()


def _wipe(engine: Any) -> None:
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import backend.models  # noqa: F401
    from backend.publishing import pagecache

    pagecache.clear()  # cached public pages are keyed by letter id and revision, which restart with the data

    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA defer_foreign_keys=ON"))
            conn.execute(text("UPDATE letter SET current_version_id = NULL"))
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
            conn.execute(text("DELETE FROM letter_search"))  # the full-text table (made by a migration)


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" in request.fixturenames:
        _wipe(request.getfixturevalue("engine"))
        media = _TMP / "media"
        if media.exists():
            shutil.rmtree(media, ignore_errors=True)


@pytest.fixture(autouse=True)
def _reset_rate_limits() -> Iterator[None]:
    """Rate-limit counters start empty in every test (they live in process memory)."""
    from backend import ratelimit

    ratelimit.reset()
    yield


@pytest.fixture
def clock() -> Iterator[Callable[[Any], None]]:
    """Moves the app's clock by a timedelta (also in the live server, which runs in this process)."""
    from backend.db import set_clock_offset

    yield set_clock_offset
    set_clock_offset(timedelta(0))


@pytest.fixture
def db(engine: Any) -> Iterator[Any]:
    """A session for arranging and asserting; commit what you arrange."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session


# --- The app -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def app(engine: Any, settings: Any) -> Any:
    from backend.main import create_app

    return create_app(settings, engine=engine, run_worker=False)


@pytest.fixture
def client(app: Any, smtp: SmtpSink) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def form_post(client: Any, url: str, data: dict[str, Any] | None = None, *, page: str | None = None,
              files: Any = None) -> Any:
    """POSTs a form as a browser would: the CSRF token is taken from `page` (default: GET `url`)."""
    html = client.get(page or url).text
    payload = {"csrf_token": csrf_from(html), **(data or {})}
    return client.post(url, data=payload, files=files)


@pytest.fixture
def post() -> Callable[..., Any]:
    return form_post


@pytest.fixture
def deliver(engine: Any) -> Callable[[], int]:
    """Drains the outbox to the SMTP test server, as the worker does; returns how many were sent."""
    from backend.config import get_settings
    from backend.mail import sender

    def run() -> int:
        return sender.drain(engine=engine, settings=get_settings())

    return run


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from backend.accounts import service

    def create(email: str = "", name: str = "Test Person", password: str = "correct horse battery",
               verified: bool = True, organisation: str | None = None, is_admin: bool = False) -> Any:
        email = email or f"user-{secrets.token_hex(4)}@example.org"
        user = service.create_user(session=db, email=email, name=name, password=password, verified=verified,
                                   is_admin=is_admin)
        if organisation:
            org = service.create_organisation(session=db, name=organisation)
            service.add_membership(session=db, user=user, organisation=org, role="admin")
        db.commit()
        object.__setattr__(user, "password", password)  # for log-in in tests (not a model field)
        return user

    return create


@pytest.fixture
def login() -> Callable[..., Any]:
    def do(client: Any, user: Any, password: str | None = None) -> Any:
        response = form_post(client, "/login", {"email": user.email,
                                                "password": password or user.password, "next": "/"})
        assert response.status_code == 303, response.text
        return response

    return do


# --- Live server and browser -----------------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    server: Any
    thread: threading.Thread
    settings: Any = None


@pytest.fixture(scope="session")
def live_server(engine: Any, settings: Any) -> Iterator[LiveServer]:
    """The app on a real port. Its worker (mail, scheduled jobs) runs only during browser tests: see `page`."""
    import uvicorn

    from backend.main import create_app

    port = _free_port()
    live_settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}",
                                                "outbox_poll_seconds": 0.2})
    application = create_app(live_settings, engine=engine, run_worker=False)
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "live server did not start"
    yield LiveServer(f"http://127.0.0.1:{port}", server, thread, live_settings)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def live_worker(engine: Any, live_server: LiveServer) -> Iterator[None]:
    """The embedded worker of the live server, delivering mail to the SMTP test server while a test runs."""
    from backend import worker

    # The first tick (holidays, daily jobs) writes; done here, it cannot race a test's first arrangement write
    # (on SQLite a read transaction that another commit overtook cannot become a write: "database is locked").
    worker.run_once(engine, live_server.settings)
    thread, stop = worker.start_thread(engine, live_server.settings)
    yield
    stop.set()
    thread.join(timeout=30)


CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]


def _chromium_path() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if Path(path).exists():
            return path
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = _chromium_path()
    if path is None:
        message = "no system Chromium found (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and REQUIRE_BROWSER=1")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer, smtp: SmtpSink, live_worker: None) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, bypass_csp=False)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def axe_check() -> Callable[[Any], None]:
    """Fails on any serious or critical axe-core violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(pg: Any) -> None:
        results = axe.run(pg)
        bad = [v for v in results.response.get("violations", []) if v.get("impact") in ("serious", "critical")]
        assert not bad, f"axe found on {pg.url}:\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} at {[n.get('target') for n in v.get('nodes', [])][:3]}"
            for v in bad
        )

    return check
