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
# One folder per run and per xdist worker: its SQLite file and its media folder.
_TMP = Path(tempfile.mkdtemp(prefix=f"undersigned-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"))
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
#
# Each test runs inside one transaction that is rolled back at its end (the default), or, for a test that needs
# real commits, on the real engine with every table emptied afterwards. See README, "Tests".
#
# Rolled back: one connection for the whole run (per xdist worker), an outer transaction per test, and a SAVEPOINT
# for every transaction that the code under test or the test itself begins on the `engine` fixture. The app under
# test (TestClient) is built on that engine, so requests, the test's `db` session, `deliver()`, jobs and the
# in-process worker functions all share the test's transaction. "COMMIT" releases the savepoint; "ROLLBACK" rolls
# back to it, unless the transaction only read (then it is released: a GET's session that closes without
# committing must not undo the short write transaction it opened inside, as `touch_session` does).
#
# Real commits: a live server thread, the worker in another thread or process, a CLI command run in-process (it
# makes its own engine), threads writing at once. Marked `@pytest.mark.real_commits`, or found by their fixtures.

REAL_COMMIT_FIXTURES = frozenset({"live_server", "live_worker", "page", "browser"})
_READ_ONLY = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "PRAGMA", "SHOW")


def needs_real_commits(item: pytest.Item) -> bool:
    """True when a test runs on the real engine (its data committed, then wiped) rather than in a rolled-back
    transaction."""
    return item.get_closest_marker("real_commits") is not None or \
        not REAL_COMMIT_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


class RolledBack:
    """An engine on one connection whose transactions are savepoints inside a transaction opened per test."""

    def __init__(self, database_url: str) -> None:
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import StaticPool

        self.sqlite = make_url(database_url).get_backend_name() == "sqlite"
        connect_args = {"check_same_thread": False, "timeout": 30} if self.sqlite else {}
        self.engine = create_engine(database_url, poolclass=StaticPool, pool_reset_on_return=None,
                                    connect_args=connect_args)
        if self.sqlite:
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                # pysqlite's own transaction handling would COMMIT before a SAVEPOINT: SQLAlchemy's documented
                # workaround is to turn it off and emit BEGIN ourselves (here, once per test: `begin_test`).
                dbapi_connection.isolation_level = None
                for pragma in ("foreign_keys=ON", "busy_timeout=30000"):
                    dbapi_connection.execute(f"PRAGMA {pragma}")

        fairy = self.engine.raw_connection()  # connects once (and lets the dialect initialise) before the hooks
        self.dbapi = fairy.dbapi_connection
        fairy.close()
        # The test's transaction is the only real one: the dialect's BEGIN, COMMIT and ROLLBACK do nothing, and
        # the events below turn each SQLAlchemy transaction into a savepoint.
        dialect: Any = self.engine.dialect
        dialect.do_begin = dialect.do_commit = dialect.do_rollback = lambda _dbapi_connection: None
        self.lock = threading.RLock()
        self.savepoints: list[str] = []  # open, innermost last
        self.opened: dict[Any, list[Any]] = {}  # SQLAlchemy connection -> [its savepoint, it wrote]
        self.count = 0
        self.in_test = False
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "handle_error", self._error)

    def _sql(self, statement: str) -> None:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()

    def _begin(self, connection: Any) -> None:
        assert self.in_test, "the rolled-back engine was used outside a test"
        with self.lock:
            self.count += 1
            name = f"test_sp_{self.count}"
            self._sql(f"SAVEPOINT {name}")
            self.savepoints.append(name)
            self.opened[connection] = [name, False]

    def _end(self, connection: Any, *, rollback: bool) -> None:
        with self.lock:
            name, wrote = self.opened.pop(connection, (None, False))
            if name not in self.savepoints:  # already released with an enclosing savepoint
                return
            if rollback and wrote:
                self._sql(f"ROLLBACK TO SAVEPOINT {name}")
            self._sql(f"RELEASE SAVEPOINT {name}")
            del self.savepoints[self.savepoints.index(name):]

    def _commit(self, connection: Any) -> None:
        self._end(connection, rollback=False)

    def _rollback(self, connection: Any) -> None:
        self._end(connection, rollback=True)

    def _statement(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        opened = self.opened.get(connection)
        if opened is not None and not opened[1] and not statement.lstrip().upper().startswith(_READ_ONLY):
            opened[1] = True

    def _error(self, context: Any) -> None:
        opened = self.opened.get(context.connection)
        if opened is not None:
            opened[1] = True  # on PostgreSQL an error aborts the transaction until a rollback to the savepoint

    def begin_test(self) -> None:
        self.savepoints.clear()
        self.opened.clear()
        if self.sqlite:
            self._sql("BEGIN")  # (psycopg begins on the first statement)
        self.in_test = True

    def end_test(self) -> None:
        self.in_test = False
        self.dbapi.rollback()
        self.savepoints.clear()
        self.opened.clear()

    def dispose(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def database_url(smtp_server: SmtpSink) -> Iterator[str]:
    """A database of this run (of this xdist worker): a SQLite file in the run's folder, or a PostgreSQL database
    made on the server of TEST_DATABASE_URL and dropped at the end."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{_TMP / 'test.db'}"
        os.environ["DATABASE_URL"] = url
        yield url
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"undersigned_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{secrets.token_hex(4)}"
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
def real_engine(settings: Any) -> Iterator[Any]:
    """The app's own engine on the migrated test database: what real-commit tests and the live server use."""
    from backend.db import dispose, make_engine
    from backend.migrations import upgrade

    upgrade(settings.database_url)
    eng = make_engine(settings.database_url)
    # What an entry point does: the one Jinja environment, with the route table (emails link by route name).
    from backend.routes import route_table
    from backend.templating import Templating, install

    install(Templating(settings, router=route_table(settings)))
    yield eng
    dispose(eng)


@pytest.fixture(scope="session")
def rolled_back(real_engine: Any, settings: Any) -> Iterator[RolledBack]:
    found = RolledBack(settings.database_url)
    yield found
    found.dispose()


def _wipe(engine: Any) -> None:
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import backend.models  # noqa: F401

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
def _database(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that touches the database runs in a transaction rolled back at its end, or, if it needs real
    commits, has every table emptied after it."""
    if {"engine", "real_engine"}.isdisjoint(request.fixturenames):
        yield
        return
    from backend.publishing import pagecache

    if needs_real_commits(request.node):
        real_engine = request.getfixturevalue("real_engine")
        yield
        _wipe(real_engine)
    else:
        rolled_back: RolledBack = request.getfixturevalue("rolled_back")
        rolled_back.begin_test()
        try:
            yield
        finally:
            rolled_back.end_test()
    pagecache.clear()  # cached public pages are keyed by letter id and revision, which SQLite hands out again
    shutil.rmtree(_TMP / "media", ignore_errors=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Any:
    """The engine of this test: the rolled-back one by default, the real one for real-commit tests."""
    if needs_real_commits(request.node):
        return request.getfixturevalue("real_engine")
    return request.getfixturevalue("rolled_back").engine


@pytest.fixture(autouse=True)
def _reset_rate_limits() -> Iterator[None]:
    """Rate-limit counters start empty in every test (they live in process memory)."""
    from backend import ratelimit

    ratelimit.reset()
    yield


@pytest.fixture(autouse=True)
def _empty_page_cache() -> Iterator[None]:
    """The page cache starts empty in every test: a rolled-back test leaves letter ids and public revisions that
    the next test's letters reuse (on SQLite), and a key names what a page shows only within one database."""
    from backend.publishing import pagecache

    pagecache.clear()
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
def _apps(settings: Any) -> dict[Any, Any]:
    return {}


@pytest.fixture
def app(engine: Any, settings: Any, _apps: dict[Any, Any]) -> Any:
    """The app on this test's engine (made once per engine)."""
    from backend.main import create_app

    if engine not in _apps:
        _apps[engine] = create_app(settings, engine=engine, run_worker=False)
    return _apps[engine]


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
def live_server(real_engine: Any, settings: Any) -> Iterator[LiveServer]:
    """The app on a real port. Its worker (mail, scheduled jobs) runs only during browser tests: see `page`."""
    import uvicorn

    from backend.main import create_app

    port = _free_port()
    live_settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}",
                                                "outbox_poll_seconds": 0.2})
    application = create_app(live_settings, engine=real_engine, run_worker=False)
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
def live_worker(real_engine: Any, live_server: LiveServer) -> Iterator[None]:
    """The embedded worker of the live server, delivering mail to the SMTP test server while a test runs."""
    from backend import worker

    # The first tick (holidays, daily jobs) writes; done here, it cannot race a test's first arrangement write
    # (on SQLite a read transaction that another commit overtook cannot become a write: "database is locked").
    worker.run_once(real_engine, live_server.settings)
    thread, stop = worker.start_thread(real_engine, live_server.settings)
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
