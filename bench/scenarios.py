"""The scenarios: published page, sign-on storm, press pack, mail, server memory. Each adds rows to the table."""

from __future__ import annotations

import asyncio
import io
import re
import smtplib
import statistics
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

from bench import rawhttp, wrkload
from bench.harness import BenchError, Floor, Nginx, Server, SmtpSink
from bench.seed import Seeded

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION_RE = re.compile(r'name="version_id" value="(\d+)"')
CONFIRM_RE = re.compile(r"/confirm/([A-Za-z0-9_-]+)")
STORM_DOMAIN = "storm.bench"
INVITE_DOMAIN = "invitees.bench"
RAW_DOMAIN = "raw.bench"
PETITIONS_RECORD_PER_S = 2000 / 60  # UK Parliament petitions site, March 2019


@dataclass
class Row:
    scenario: str
    figure: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target for this figure
    reference: str = ""
    ratio: str = ""

    @property
    def status(self) -> str:
        return "" if self.ok is None else ("pass" if self.ok else "MISS")


@dataclass
class Durations:
    page: float
    storm: float
    storm_reference: float
    confirm_cap: float
    warmup: float
    invites: int
    cached_pack_requests: int


FULL = Durations(page=15, storm=20, storm_reference=10, confirm_cap=40, warmup=3, invites=2000,
                 cached_pack_requests=30)
QUICK = Durations(page=3, storm=5, storm_reference=3, confirm_cap=5, warmup=1, invites=300,
                  cached_pack_requests=10)


@dataclass
class Context:
    workdir: Path
    server: Server
    nginx: Nginx
    sink: SmtpSink
    engine: Any
    seeded: Seeded
    database_url: str
    durations: Durations
    connections: int
    storm_users: int
    rows: list[Row] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    rss_start: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.0%}" if reference else "n/a"


def _around(rates: list[float]) -> str:
    """" (210 before, 234 after)": a reference measured on both sides of what it is compared with."""
    return f" ({rates[0]:,.0f} before, {rates[1]:,.0f} after)"


def _times(value: float, reference: float) -> str:
    return f"{value / reference:,.1f}×" if reference else "n/a"


# 1. The published page ----------------------------------------------------------------------------------

def published_page(ctx: Context) -> None:
    d = ctx.durations
    path = f"/letters/{ctx.seeded.published_slug}"
    status, headers, body = _get(ctx.server.url + path)
    if status != 200 or "etag" not in headers:
        raise BenchError(f"the public letter page answered {status} (ETag: {headers.get('etag')})")
    etag = headers["etag"]
    ctx.nginx.put("letter.html", body)
    _, nginx_headers, nginx_body = _get(ctx.nginx.url + "/letter.html")
    if nginx_body != body:
        raise BenchError("nginx did not serve the same bytes")
    status_304, _, _ = _get(ctx.server.url + path, {"If-None-Match": etag})
    if status_304 != 304:
        raise BenchError(f"If-None-Match with the page's ETag answered {status_304}, not 304")
    size_kb = len(body) / 1024
    ctx.notes.append(f"Public page: {size_kb:.0f} KB of HTML ({ctx.seeded.organisations} organisations, "
                     f"{ctx.seeded.individuals} individuals).")

    def load(url: str, etag_header: str | None) -> wrkload.WrkResult:
        return wrkload.run(url=url, path=path if url == ctx.server.url else "/letter.html", workdir=ctx.workdir,
                           connections=ctx.connections, seconds=d.page, etag=etag_header)

    wrkload.run(url=ctx.server.url, path=path, workdir=ctx.workdir, connections=ctx.connections, seconds=d.warmup)
    app = load(ctx.server.url, None)
    ref = load(ctx.nginx.url, None)
    app304 = load(ctx.server.url, etag)
    ref304 = load(ctx.nginx.url, nginx_headers.get("etag"))
    for name, result in (("page", app), ("page 304", app304)):
        failed = result.socket_errors + result.status_errors
        if failed > result.requests * 0.01:
            ctx.broken.append(f"{name}: {failed} of {result.requests} requests failed")
    c = ctx.connections
    share = app.rps / ref.rps if ref.rps else 0
    ctx.add(
        Row("Published page", f"requests/s, {c} connections", app.rps, "/s", "", None,
            f"nginx {ref.rps:,.0f}/s", _ratio(app.rps, ref.rps)),
        Row("Published page", "share of nginx serving the same bytes", share, "ratio", "≥ 60%", share >= 0.60),
        Row("Published page", "p99 latency", app.p99_ms, "ms", "", None,
            f"nginx {ref.p99_ms:.1f} ms", _times(app.p99_ms, ref.p99_ms)),
        Row("Published page", "304 requests/s (If-None-Match)", app304.rps, "/s", "", None,
            f"nginx {ref304.rps:,.0f}/s", _ratio(app304.rps, ref304.rps)),
        Row("Published page", "304 p99 latency", app304.p99_ms, "ms", "≤ 20 ms", app304.p99_ms <= 20,
            f"nginx {ref304.p99_ms:.1f} ms", _times(app304.p99_ms, ref304.p99_ms)),
    )
    # Through the deploy/ nginx site with its proxy cache, against nginx serving the same bytes as a file.
    from bench.harness import DeployNginx

    site = DeployNginx(ctx.workdir / "deploy-nginx", upstream=ctx.server.port,
                       media=Path(ctx.server.env["MEDIA_DIR"]))
    site.start()
    try:
        _get(site.url + path)  # the first request fills the cache
        wrkload.run(url=site.url, path=path, workdir=ctx.workdir, connections=ctx.connections, seconds=d.warmup)
        proxied = wrkload.run(url=site.url, path=path, workdir=ctx.workdir, connections=ctx.connections,
                              seconds=d.page)
    finally:
        site.stop()
    # nginx static measured again right after, so the comparison is not of two different hours.
    ref_after = load(ctx.nginx.url, None)
    static = (ref.rps + ref_after.rps) / 2
    through = proxied.rps / static if static else 0
    ctx.add(Row("Published page", "through deploy/ nginx (proxy cache): share of nginx static", through, "ratio",
                "≥ 90%", through >= 0.90,
                f"{proxied.rps:,.0f}/s vs {static:,.0f}/s{_around([ref.rps, ref_after.rps])}"))


# 2. The sign-on storm -----------------------------------------------------------------------------------

@dataclass
class Attempt:
    email: str
    started: float
    posted: float  # when the POST was sent (the form page had been read)
    finished: float
    status: int


def _csrf_cookie(reply: rawhttp.Reply, current: str) -> str:
    for name, value in reply.cookies().items():
        if name.endswith("us_csrf"):
            return f"{name}={value}"
    return current


async def _storm(host: str, port: int, path: str, users: int, seconds: float, first: int,
                 prefix: str) -> tuple[list[Attempt], int, float]:
    """`users` browsers at once, each sign-on a new person: a new connection, GET the form (no cookies), POST it
    with the CSRF cookie and token the page gave."""
    attempts: list[Attempt] = []
    errors = 0
    counter = iter(range(first, 10**9))
    start = time.perf_counter()
    deadline = start + seconds

    async def user() -> None:
        nonlocal errors
        conn = rawhttp.Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                n = next(counter)
                email = f"{prefix}{n}@{STORM_DOMAIN}"
                t0 = time.perf_counter()
                try:
                    page = await conn.request("GET", path)
                    token = CSRF_RE.search(page.body.decode("utf-8", "replace"))
                    version = VERSION_RE.search(page.body.decode("utf-8", "replace"))
                    if page.status != 200 or token is None:
                        errors += 1
                        continue
                    cookie = _csrf_cookie(page, "")
                    content_type, body = rawhttp.multipart([
                        ("csrf_token", token.group(1)), ("version_id", version.group(1) if version else ""),
                        ("kind", "organisation"), ("display_name", f"Storm Charity {prefix}{n}"),
                        ("signer_name", f"Signer {n}"), ("signer_role", "Director"), ("contact_email", email),
                        ("website", ""), ("attested", "yes"),
                    ], [("logo", "", b"")])
                    t1 = time.perf_counter()
                    reply = await conn.request("POST", path, {"Cookie": cookie, "Content-Type": content_type},
                                               body)
                    attempts.append(Attempt(email, t0, t1, time.perf_counter(), reply.status))
                    await conn.close()  # the next sign-on is another person: a new connection
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    attempts.append(Attempt(email, t0, t0, time.perf_counter(), 0))
                    await conn.close()
        finally:
            await conn.close()

    await asyncio.gather(*(user() for _ in range(users)))
    return attempts, errors, seconds


async def _confirm_all(host: str, port: int, tokens: list[tuple[str, str]], users: int,
                       cap: float) -> tuple[list[Attempt], int, float]:
    """Follows each emailed confirmation link as a browser: GET the page with its button, POST it."""
    attempts: list[Attempt] = []
    errors = 0
    queue = list(reversed(tokens))
    start = time.perf_counter()
    deadline = start + cap

    async def user() -> None:
        nonlocal errors
        conn = rawhttp.Connection(host, port)
        try:
            while queue and time.perf_counter() < deadline:
                email, token = queue.pop()
                t0 = time.perf_counter()
                try:
                    page = await conn.request("GET", f"/confirm/{token}")
                    text = page.body.decode("utf-8", "replace")
                    csrf, version = CSRF_RE.search(text), VERSION_RE.search(text)
                    if page.status != 200 or csrf is None or version is None:
                        errors += 1
                        continue
                    body = urllib.parse.urlencode({"csrf_token": csrf.group(1),
                                                   "version_id": version.group(1)}).encode()
                    t1 = time.perf_counter()
                    reply = await conn.request("POST", f"/confirm/{token}", {
                        "Cookie": _csrf_cookie(page, ""), "Content-Type": "application/x-www-form-urlencoded"},
                        body)
                    attempts.append(Attempt(email, t0, t1, time.perf_counter(), reply.status))
                    await conn.close()
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    await conn.close()
        finally:
            await conn.close()

    await asyncio.gather(*(user() for _ in range(users)))
    return attempts, errors, time.perf_counter() - start


def _p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _outbox_counts(engine: Any, template: str, domain: str) -> tuple[Counter[str], dict[str, str]]:
    from sqlmodel import Session, col, select

    from backend.mail.models import OutboundEmail

    with Session(engine) as session:
        rows = session.exec(select(OutboundEmail.to_address, OutboundEmail.text)
                            .where(col(OutboundEmail.template) == template)
                            .where(col(OutboundEmail.to_address).like(f"%@{domain}"))).all()
    return Counter(r[0] for r in rows), {r[0]: r[1] for r in rows}


def _signature_counts(engine: Any, letter_id: int) -> tuple[Counter[str], dict[str, str]]:
    from sqlmodel import Session, col, select

    from backend.signatures.models import Signature

    with Session(engine) as session:
        rows = session.exec(select(Signature.email_key, Signature.status)
                            .where(col(Signature.letter_id) == letter_id)
                            .where(col(Signature.email_key).like(f"%@{STORM_DOMAIN}"))).all()
    return Counter(r[0] for r in rows), {r[0]: r[1] for r in rows}


def sign_on_storm(ctx: Context) -> None:
    d = ctx.durations
    path = f"/letters/{ctx.seeded.open_slug}/sign"
    status, _, body = _get(ctx.server.url + path)
    if status != 200:
        raise BenchError(f"the open sign-on page answered {status}")

    # Reference: the same client and request pattern against nginx (form page on GET, 303 on POST).
    ctx.nginx.put("sign.html", body)
    ref_attempts, _, ref_seconds = asyncio.run(_storm("127.0.0.1", ctx.nginx.port, "/sign", ctx.storm_users,
                                                      d.storm_reference, 0, "ref"))
    ref_rate = sum(1 for a in ref_attempts if a.status == 303 and a.finished - a.started >= 0) / ref_seconds

    # The floor: a bare FastAPI app, the same page and form, two rows a request, the same database; run before
    # and after the app, so that the machine's drift during the run weighs on both sides alike.
    def floor_storm(prefix: str) -> float:
        floor = Floor(ctx.workdir, ctx.database_url, body)
        floor.start()
        try:
            floor_attempts, _, floor_seconds = asyncio.run(_storm("127.0.0.1", floor.port, path, ctx.storm_users,
                                                                  d.storm, 0, prefix))
        finally:
            floor.stop()
        return sum(1 for a in floor_attempts if a.status == 303) / floor_seconds

    floor_rates = [floor_storm("floor")]
    cpu_before = ctx.server.cpu_seconds()
    attempts, errors, seconds = asyncio.run(_storm("127.0.0.1", ctx.server.port, path, ctx.storm_users, d.storm,
                                                   0, "s"))
    cpu_used = ctx.server.cpu_seconds() - cpu_before
    window_end = min(a.started for a in attempts) + seconds if attempts else 0
    accepted = [a for a in attempts if a.status == 303]
    in_window = [a for a in accepted if a.finished <= window_end]
    rate = len(in_window) / seconds
    post_ms = [(a.finished - a.posted) * 1000 for a in accepted]
    refused = Counter(a.status for a in attempts if a.status != 303)
    floor_rates.append(floor_storm("floor-after"))
    floor_rate = sum(floor_rates) / 2

    # Every accepted sign-on stored once, with one confirmation email; nothing stored that was not accepted.
    time.sleep(0.5)
    stored, _ = _signature_counts(ctx.engine, ctx.seeded.open_id)
    emails, texts = _outbox_counts(ctx.engine, "signature_confirm", STORM_DOMAIN)
    accepted_emails = {a.email for a in accepted}
    lost = [e for e in accepted_emails if stored[e] != 1 or emails[e] != 1]
    doubled = [e for e, n in (stored + emails).items() if n > 2] + [e for e in stored if stored[e] > 1]
    extra = [e for e in stored if e not in accepted_emails]
    if lost or doubled:
        ctx.broken.append(f"sign-on storm: {len(lost)} accepted sign-on(s) not stored once with one email, "
                          f"{len(doubled)} doubled (e.g. {(lost + doubled)[:3]})")
    if refused:
        ctx.notes.append(f"Sign-on storm: answers other than 303: {dict(refused)}; client errors: {errors}.")
    if extra:
        ctx.notes.append(f"Sign-on storm: {len(extra)} stored sign-on(s) whose answer the client did not get "
                         "(timed out); each stored once with one email.")

    # Then the confirmations, following the emailed links.
    tokens = []
    for email in sorted(accepted_emails):
        match = CONFIRM_RE.search(texts.get(email, ""))
        if match:
            tokens.append((email, match.group(1)))
    c_page = _get(f"{ctx.server.url}/confirm/{tokens[0][1]}")[2] if tokens else b""

    def floor_confirmations(prefix: str) -> float:
        """The floor answering the same confirmation page and the same POST, as many times."""
        if not tokens:
            return 0.0
        floor = Floor(ctx.workdir, ctx.database_url, c_page)
        floor.start()
        try:
            fake = [(f"{prefix}{n}", f"{prefix}-token-{n}") for n in range(len(tokens))]
            floor_confirmed, _, floor_c_seconds = asyncio.run(_confirm_all("127.0.0.1", floor.port, fake,
                                                                           ctx.storm_users, d.confirm_cap))
        finally:
            floor.stop()
        return sum(1 for a in floor_confirmed if a.status == 303) / floor_c_seconds if floor_c_seconds else 0.0

    floor_c_rates = [floor_confirmations("floor")]
    confirmed, c_errors, c_seconds = asyncio.run(_confirm_all("127.0.0.1", ctx.server.port, tokens,
                                                              ctx.storm_users, d.confirm_cap))
    floor_c_rates.append(floor_confirmations("floor-after"))
    floor_c_rate = sum(floor_c_rates) / 2
    ok_confirmed = [a for a in confirmed if a.status == 303]
    c_rate = len(ok_confirmed) / c_seconds if c_seconds else 0
    c_ms = [(a.finished - a.posted) * 1000 for a in ok_confirmed]
    time.sleep(0.5)
    statuses = _signature_counts(ctx.engine, ctx.seeded.open_id)[1]
    receipts, _ = _outbox_counts(ctx.engine, "signature_receipt", STORM_DOMAIN)
    bad = [a.email for a in ok_confirmed if statuses.get(a.email) != "approved" or receipts[a.email] != 1]
    if bad or c_errors or len(ok_confirmed) != len(confirmed):
        ctx.broken.append(f"confirmations: {len(bad)} confirmed without exactly one receipt, "
                          f"{len(confirmed) - len(ok_confirmed)} refused, {c_errors} errors")

    users = ctx.storm_users
    share, c_share = (rate / floor_rate if floor_rate else 0), (c_rate / floor_c_rate if floor_c_rate else 0)
    ctx.add(
        Row("Sign-on storm", f"accepted sign-ons/s, {users} browsers, {seconds:.0f} s", rate, "/s", "", None,
            f"floor {floor_rate:,.0f}/s{_around(floor_rates)}; nginx {ref_rate:,.0f}/s", _ratio(rate, floor_rate)),
        Row("Sign-on storm", "share of the floor app (form + POST)", share, "ratio", "≥ 50%", share >= 0.5),
        Row("Sign-on storm", "× the petitions record (2,000/min)", rate / PETITIONS_RECORD_PER_S, "×", "", None),
        Row("Sign-on storm", "server CPU per accepted sign-on (form + POST)",
            cpu_used / len(accepted) * 1000 if accepted else 0, "ms"),
        Row("Sign-on storm", "POST p99 latency", _p(post_ms, 99), "ms", "≤ 200 ms", _p(post_ms, 99) <= 200),
        Row("Sign-on storm", "accepted / stored once / one email", float(len(accepted)), "sign-ons",
            "none lost or doubled", not lost and not doubled,
            f"{sum(1 for e in accepted_emails if stored[e] == 1 and emails[e] == 1)} checked"),
        Row("Confirmation storm", f"confirmations/s ({len(ok_confirmed)} of {len(tokens)}, page + POST)", c_rate,
            "/s", "", None, f"floor {floor_c_rate:,.0f}/s{_around(floor_c_rates)}", _ratio(c_rate, floor_c_rate)),
        Row("Confirmation storm", "share of the floor app (page + POST)", c_share, "ratio", "≥ 50%",
            c_share >= 0.5),
        Row("Confirmation storm", "POST p99 latency", _p(c_ms, 99), "ms", "≤ 200 ms", _p(c_ms, 99) <= 200),
    )


# 3. The press pack --------------------------------------------------------------------------------------

class _Sampling:
    """Calls `sample()` every `interval` seconds in a thread while a block runs, until it returns True, and once
    more when the block ends."""

    interval = 0.01

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> bool:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set() and not self.sample():
            time.sleep(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # the state the block ended in, which the thread may have been stopped before reading


class _PeakRss(_Sampling):
    """The server processes' peak resident memory, sampled every 10 ms while a block runs."""

    def __init__(self, rss: Callable[[], list[float]]) -> None:
        super().__init__()
        self.rss = rss
        self.peak = 0.0

    def sample(self) -> bool:
        self.peak = max([self.peak, *self.rss()])
        return False


def settle(ctx: Context, timeout: float = 180) -> None:
    """Waits until the server's worker has sent what the previous scenario queued (it shares the CPU)."""
    deadline = time.monotonic() + timeout
    while _queued(ctx.engine) and time.monotonic() < deadline:
        time.sleep(0.2)


def _new_revision(ctx: Context) -> int:
    """Something public about the published letter changes (as when the lead withdraws a signature): a new public
    revision, whose press pack is not built yet. Returns that revision."""
    from sqlalchemy import text

    from backend.db import session_for_write
    from backend.publishing import revision

    with session_for_write(ctx.engine) as session:
        revision.bump(session=session, letter_id=ctx.seeded.published_id)
        session.commit()
    with ctx.engine.connect() as connection:
        return int(connection.execute(text("SELECT public_revision FROM letter WHERE id = :id"),
                                      {"id": ctx.seeded.published_id}).scalar_one())


class _BuildWatch(_Sampling):
    """Reads the published letter's press-pack build row every 20 ms while a block runs: when a worker claimed the
    build of `revision` and when it was built (the build in the worker, apart from waiting to be picked up)."""

    interval = 0.02

    def __init__(self, ctx: Context, revision: int) -> None:
        from sqlalchemy import text

        super().__init__()
        self.engine, self.revision = ctx.engine, revision
        self.query = text("SELECT status, built_revision FROM document_build WHERE letter_id = :id AND kind = 'public'")
        self.params = {"id": ctx.seeded.published_id}
        self.claimed: float | None = None
        self.built: float | None = None

    def sample(self) -> bool:
        with self.engine.connect() as connection:
            row = connection.execute(self.query, self.params).first()
        now = time.perf_counter()
        if row is not None and row.status == "building" and self.claimed is None:
            self.claimed = now
        if row is not None and (row.built_revision or 0) >= self.revision and self.built is None:
            self.built = now
        return self.built is not None

    @property
    def seconds(self) -> float | None:
        return self.built - self.claimed if self.built is not None and self.claimed is not None else None


def press_pack(ctx: Context) -> None:
    settle(ctx)
    revision = _new_revision(ctx)
    url = f"{ctx.server.url}/letters/{ctx.seeded.published_slug}/press-pack.zip"
    before = max(ctx.server.rss_mb() or [0.0])
    with _PeakRss(ctx.server.rss_mb) as peak, _BuildWatch(ctx, revision) as build:
        t0 = time.perf_counter()
        status, _, data = _get(url)  # asks the worker to build it now, and waits for it
        cold = time.perf_counter() - t0
    if build.seconds is None:  # a build between two reads of its row: no figure, a miss (the pack itself is checked)
        ctx.notes.append("Press pack: the build of the new revision was not seen both claimed and built.")
    if status != 200:
        raise BenchError(f"the press pack answered {status}")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    logos = sum(1 for n in names if "/logos/" in n)
    from backend.publishing.pack import PACK_FILES  # every named file of the pack, README included

    if logos != ctx.seeded.organisations or len(names) != len(PACK_FILES) + logos:
        ctx.broken.append(f"press pack: {len(names)} files, {logos} logos (expected {len(PACK_FILES)} + "
                          f"{ctx.seeded.organisations})")
    cached = []
    for _ in range(ctx.durations.cached_pack_requests):
        t0 = time.perf_counter()
        status, _, again = _get(url)
        cached.append(time.perf_counter() - t0)
        if status != 200 or again != data:
            ctx.broken.append("press pack: a cached download differed from the first")
            break
    ctx.nginx.put("press-pack.zip", data)
    reference = []
    for _ in range(ctx.durations.cached_pack_requests):
        t0 = time.perf_counter()
        _get(ctx.nginx.url + "/press-pack.zip")
        reference.append(time.perf_counter() - t0)
    cached_ms, ref_ms = statistics.median(cached) * 1000, statistics.median(reference) * 1000
    times = cached_ms / ref_ms if ref_ms else 0
    ctx.notes.append(f"Press pack: {len(data) / 1024 / 1024:.1f} MB ZIP, {len(names)} files.")
    ctx.add(
        Row("Press pack", "new revision: its build in the worker (claimed → built)", build.seconds or 0, "s",
            "≤ 3 s", build.seconds is not None and build.seconds <= 3),
        Row("Press pack", "new revision: first download (asks, waits for a worker, the build)", cold, "s"),
        Row("Press pack", "download (median)", cached_ms, "ms", "≤ 5× nginx", times <= 5,
            f"nginx {ref_ms:.1f} ms", f"{times:.1f}×"),
        Row("Press pack", "server peak RSS during the first download", peak.peak, "MB", "", None,
            f"{before:.0f} MB before", f"+{peak.peak - before:.0f} MB"),
    )


# 4. Mail ------------------------------------------------------------------------------------------------

def _queued(engine: Any) -> int:
    from sqlmodel import Session, col, func, select

    from backend.mail.models import OutboundEmail

    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboundEmail)
                                .where(col(OutboundEmail.status).in_(("queued", "sending")))).one())


def _raw_smtp(port: int, count: int, sample: EmailMessage) -> float:
    """The reference: stdlib smtplib over one connection, the same number of messages of the same size."""
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for n in range(count):
            del sample["To"]
            sample["To"] = f"raw{n}@{RAW_DOMAIN}"
            smtp.send_message(sample)
    return count / (time.perf_counter() - t0)


def mail(ctx: Context) -> None:
    from bench.seed import queue_invites

    settle(ctx)
    count = ctx.durations.invites
    before = ctx.sink.status()
    connections_before = int(before.get("connections", 0))
    wall_start = time.time()
    queue_invites(engine=ctx.engine, seeded=ctx.seeded, count=count, domain=INVITE_DOMAIN)
    queue_seconds = time.time() - wall_start
    received = 0
    status: dict[str, Any] = {}
    deadline = time.monotonic() + max(120, count / 10)
    while time.monotonic() < deadline:
        status = ctx.sink.status()
        received = int(status.get("domains", {}).get(INVITE_DOMAIN, {}).get("messages", 0))
        if received >= count:
            break
        time.sleep(0.05)
    domain = status.get("domains", {}).get(INVITE_DOMAIN, {})
    if received != count:
        ctx.broken.append(f"mail: the sink received {received} of {count} invites")
        return
    first, last = float(domain["first"]), float(domain["last"])
    rate = count / (last - first) if last > first else 0.0
    end_to_end = count / (last - wall_start)
    connections = int(status.get("connections", 0)) - connections_before
    _, texts = _outbox_counts(ctx.engine, "signature_invite", INVITE_DOMAIN)
    sample = EmailMessage()
    sample["From"] = "bench@lead.bench"
    sample["Subject"] = "An invitation to sign"
    sample.set_content(next(iter(texts.values()), "x" * 2000))
    sample.add_alternative("<p>" + next(iter(texts.values()), "x" * 2000) + "</p>", subtype="html")
    raw_rate = _raw_smtp(ctx.sink.port, count, sample)
    ctx.add(
        Row("Mail", f"{count} invites queued (create_invites, in the benchmark process)", queue_seconds, "s"),
        Row("Mail", "messages/s delivered to the sink (first → last)", rate, "/s", "", None,
            f"smtplib {raw_rate:,.0f}/s", _ratio(rate, raw_rate)),
        Row("Mail", "share of smtplib over one connection", rate / raw_rate if raw_rate else 0, "ratio", "≥ 40%",
            bool(raw_rate) and rate / raw_rate >= 0.40),
        Row("Mail", "messages/s end to end (queueing → last delivered)", end_to_end, "/s"),
        Row("Mail", "SMTP connections used", float(connections), "", f"≤ {count // 50} (one per batch)",
            0 < connections <= max(1, count // 50), f"{count / max(connections, 1):,.0f} messages each"),
    )


# 5. Server memory ---------------------------------------------------------------------------------------

def memory(ctx: Context) -> None:
    now = ctx.server.rss_mb()
    if not now:
        raise BenchError("the server is not running")
    peak = max(now)
    start = max(ctx.rss_start or [0.0])
    ctx.add(Row("Server memory", f"RSS of one serve process after the runs ({len(now)} process(es))", peak, "MB",
                "≤ 200 MB", peak <= 200, f"{start:.0f} MB at start", f"{peak / start:.1f}×" if start else ""))


SCENARIOS: dict[str, Callable[[Context], None]] = {
    "page": published_page,
    "storm": sign_on_storm,
    "press": press_pack,
    "mail": mail,
    "memory": memory,
}
