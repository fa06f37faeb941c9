"""CPU time of the public forms' two requests, the ASGI app called in-process (no network, no server): a sign-on
(GET the open form, POST it as multipart) and a confirmation (GET the emailed link's page, POST its button), N of
each, against a published letter and an open one. Each figure is printed with a CPU probe of the same run (a fixed
Python loop): on a machine whose speed swings, compare the ratios.

    .venv/bin/python bench/profile_forms.py               # 300 of each
    .venv/bin/python bench/profile_forms.py --calls       # Python calls of each, and of the floor app's
    .venv/bin/py-spy record -r 300 --format raw -o stacks.txt -- .venv/bin/python bench/profile_forms.py

For where the time goes, run it under a sampling profiler (py-spy, above): the routes run in the thread pool,
which cProfile does not see. With --calls it counts the Python function calls of each request pair instead of
timing them, and of the same pair answered by the floor app (bench/floor.py): a figure the machine's speed does
not move, to compare two versions of the code in a noisy hour (calls are not time: a call into C counts nothing).

Everything lives in a temporary folder removed afterwards; the settings are production's, with the per-address
limits lifted (every request comes from one address).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import profile_page, rawhttp

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION_RE = re.compile(r'name="version_id" value="(\d+)"')
CONFIRM_RE = re.compile(r"/confirm/([A-Za-z0-9_-]+)")


async def _call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]],
                body: bytes = b"") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request as uvicorn would make it: (status, headers, body)."""
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": [(b"host", b"localhost"), *headers],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}
    got: dict[str, Any] = {"status": 0, "headers": [], "body": b""}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # the app only asks again to learn of a disconnect
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            got["status"], got["headers"] = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            got["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return got["status"], got["headers"], got["body"]


def _cookie(headers: list[tuple[bytes, bytes]]) -> bytes:
    return next((v.split(b";")[0] for k, v in headers if k == b"set-cookie" and b"us_csrf" in v), b"")


def _form(body: bytes) -> tuple[str, str]:
    text = body.decode()
    token, version = CSRF_RE.search(text), VERSION_RE.search(text)
    if token is None or version is None:
        raise SystemExit("the page has no form")
    return token.group(1), version.group(1)


async def _sign_on(app: Any, path: str, n: int) -> None:
    status, headers, body = await _call(app, "GET", path, [])
    token, version = _form(body)
    content_type, data = rawhttp.multipart([
        ("csrf_token", token), ("version_id", version), ("kind", "organisation"),
        ("display_name", f"Profile Charity {n}"), ("signer_name", f"Signer {n}"), ("signer_role", "Director"),
        ("contact_email", f"p{n}@profile.bench"), ("website", ""), ("attested", "yes")], [("logo", "", b"")])
    status, _, _ = await _call(app, "POST", path, [(b"cookie", _cookie(headers)),
                                                   (b"content-type", content_type.encode())], data)
    if status != 303:
        raise SystemExit(f"a sign-on answered {status}")


async def _confirm(app: Any, link_token: str) -> None:
    path = f"/confirm/{link_token}"
    status, headers, body = await _call(app, "GET", path, [])
    token, version = _form(body)
    data = urllib.parse.urlencode({"csrf_token": token, "version_id": version}).encode()
    status, _, _ = await _call(app, "POST", path, [(b"cookie", _cookie(headers)),
                                                   (b"content-type", b"application/x-www-form-urlencoded")], data)
    if status != 303:
        raise SystemExit(f"a confirmation answered {status}")


class _Calls:
    """Counts the Python function calls made in the block, in every thread (the routes run in the thread pool)."""

    def __init__(self) -> None:
        self.count = 0

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            self.count += 1

    def __enter__(self) -> _Calls:
        self.count = 0
        threading.setprofile(self._hook)
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)
        threading.setprofile(None)


def _floor_calls(folder: Path, page: bytes, path: str, count: int) -> tuple[float, float]:
    """Python calls of the floor app's form page + multipart POST, and of its page + urlencoded POST."""
    (folder / "floor-page.html").write_bytes(page)
    os.environ.update({"FLOOR_DATABASE_URL": f"sqlite:///{folder / 'floor.db'}",
                       "FLOOR_PAGE": str(folder / "floor-page.html")})
    from bench import floor  # deliberate: the floor reads its database and page from the environment on import

    content_type, data = rawhttp.multipart([
        ("csrf_token", "x"), ("version_id", "1"), ("kind", "organisation"), ("display_name", "Floor Charity"),
        ("signer_name", "Signer"), ("signer_role", "Director"), ("contact_email", "f@floor.bench"),
        ("website", ""), ("attested", "yes")], [("logo", "", b"")])
    urlencoded = urllib.parse.urlencode({"csrf_token": "x", "version_id": "1"}).encode()

    async def pairs(body: bytes, kind: bytes) -> None:
        for _ in range(count):
            await _call(floor.app, "GET", path, [])
            await _call(floor.app, "POST", path, [(b"content-type", kind)], body)

    asyncio.run(pairs(data, content_type.encode()))  # warm
    with _Calls() as sign_on:
        asyncio.run(pairs(data, content_type.encode()))
    with _Calls() as confirmation:
        asyncio.run(pairs(urlencoded, b"application/x-www-form-urlencoded"))
    return sign_on.count / count, confirmation.count / count


def _probe() -> float:
    """CPU ms of a fixed Python loop: the machine's speed now."""
    started, total = time.process_time(), 0
    for i in range(2_000_000):
        total += i % 7
    return (time.process_time() - started) * 1000


def _report(name: str, count: int, wall: float, cpu: float) -> None:
    per_cpu, probe = cpu * 1000 / count, _probe()
    print(f"{name}: {per_cpu:.2f} ms CPU ({wall * 1000 / count:.2f} ms wall) each, {count} of them; "
          f"CPU probe {probe:.0f} ms; per 100 ms of probe {per_cpu * 100 / probe:.2f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, default=300, help="sign-ons and confirmations (default 300)")
    parser.add_argument("--calls", action="store_true",
                        help="count Python function calls per request pair (ours and the floor app's), not time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="undersigned-profile-") as folder:
        profile_page._environment(Path(folder))
        unlimited = "1000000/minute"
        os.environ.update({"RATE_LIMIT_SIGN": unlimited, "RATE_LIMIT_SIGN_CONFIRM": unlimited,
                           "RATE_LIMIT_SIGN_LINK_PAGE": unlimited})
        from backend.config import get_settings  # deliberate: the app's settings are read after the environment
        from backend.db import dispose
        from backend.main import create_app
        from backend.routes import route_table
        from backend.templating import Templating, install
        from bench import seed

        install(Templating(get_settings(), router=route_table(get_settings())))
        seed.migrate()
        engine = seed.make_engine()
        seeded = seed.seed(engine=engine, organisations=50, individuals=150)
        app = create_app(get_settings(), engine=engine, run_worker=False)
        path = f"/letters/{seeded.open_slug}/sign"

        async def sign_ons(first: int, count: int) -> None:
            for n in range(first, first + count):
                await _sign_on(app, path, n)

        async def confirmations(links: list[str]) -> None:
            for link in links:
                await _confirm(app, link)

        asyncio.run(sign_ons(0, 20))  # warm: imports, statement caches, the page cache
        if args.calls:
            with _Calls() as counted:
                asyncio.run(sign_ons(1000, args.count))
            sign_on_calls = counted.count / args.count
        else:
            wall, cpu = time.perf_counter(), time.process_time()
            asyncio.run(sign_ons(1000, args.count))
            _report("sign-on (GET form + POST)", args.count, time.perf_counter() - wall, time.process_time() - cpu)

        from sqlalchemy import text

        with engine.connect() as conn:
            bodies = conn.execute(text("SELECT text FROM outbound_email WHERE template = 'signature_confirm'"))
            links = [m.group(1) for (body,) in bodies for m in [CONFIRM_RE.search(body or "")] if m]
        asyncio.run(confirmations(links[:20]))
        rest = links[20:]
        if args.calls:
            with _Calls() as counted:
                asyncio.run(confirmations(rest))
            confirmation_calls = counted.count / len(rest)
            _, _, page = asyncio.run(_call(app, "GET", path, []))
            floor_sign_on, floor_confirmation = _floor_calls(Path(folder), page, path, args.count)
            for name, ours, floor in (("sign-on (GET form + POST)", sign_on_calls, floor_sign_on),
                                      ("confirmation (GET page + POST)", confirmation_calls, floor_confirmation)):
                print(f"{name}: {ours:,.0f} Python calls each; the floor app's {floor:,.0f} "
                      f"({floor / ours:.0%} of ours)")
        else:
            wall, cpu = time.perf_counter(), time.process_time()
            asyncio.run(confirmations(rest))
            _report("confirmation (GET page + POST)", len(rest), time.perf_counter() - wall,
                    time.process_time() - cpu)
        dispose(engine)


if __name__ == "__main__":
    main()
