"""Where a public letter page's time goes: the ASGI app called in-process (no network, no server), for a
published letter, N requests answered 200 and N answered 304 (If-None-Match), with ms per request and a cProfile
top-25 of each.

    .venv/bin/python bench/profile_page.py                # 2,000 of each
    .venv/bin/python bench/profile_page.py -n 500 --top 40 --sort tottime

Everything lives in a temporary folder (SQLite file, media) removed afterwards; the settings are production's.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

Call = Callable[[], Coroutine[Any, Any, tuple[int, dict[bytes, bytes], int]]]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=2000, help="requests of each kind (default 2000)")
    parser.add_argument("--top", type=int, default=25, help="lines of each profile (default 25)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (default tottime)")
    parser.add_argument("--organisations", type=int, default=50)
    parser.add_argument("--individuals", type=int, default=150)
    parser.add_argument("--no-profile", action="store_true", help="timings only")
    return parser.parse_args(argv)


def _environment(workdir: Path) -> None:
    """The app reads its settings once, at its first import: set them before."""
    os.environ.update({
        "ENVIRONMENT": "production", "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{workdir / 'profile.db'}", "MEDIA_DIR": str(workdir / "media"),
        "LOAD_EXAMPLES": "false", "EMBEDDED_WORKER": "false", "MAIL_CAPTURE": "true", "ACCESS_LOG": "false",
    })


def _caller(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> Call:
    """One GET of `path` as uvicorn would make it: (status, response headers, body length)."""

    async def call() -> tuple[int, dict[bytes, bytes], int]:
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": [(b"host", b"localhost"), *headers],
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
        }
        got: dict[str, Any] = {"status": 0, "headers": {}, "length": 0}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                got["status"] = message["status"]
                got["headers"] = dict(message.get("headers", []))
            elif message["type"] == "http.response.body":
                got["length"] += len(message.get("body", b""))

        await app(scope, receive, send)
        return got["status"], got["headers"], got["length"]

    return call


async def _run(call: Call, count: int, status: int) -> tuple[float, float]:
    """(wall-clock ms, CPU ms) per request over `count` requests, each checked for its status. On a shared
    machine the CPU time is the steadier figure: it leaves out the time other processes had the core."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        got, _headers, _length = await call()
        if got != status:
            raise SystemExit(f"expected {status}, got {got}")
    return (time.perf_counter() - started) * 1000 / count, (time.process_time() - cpu) * 1000 / count


def _profile(call: Call, count: int, status: int, top: int, sort: str) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(_run(call, count, status))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="undersigned-profile-") as folder:
        workdir = Path(folder)
        _environment(workdir)
        from backend.config import get_settings  # deliberate: the app's settings are read after _environment
        from backend.db import dispose
        from backend.routes import route_table
        from backend.templating import Templating, install
        from bench import seed

        # An entry point, as the CLI is: the one Jinja environment, linking emails by route name.
        install(Templating(get_settings(), router=route_table(get_settings())))
        seed.migrate()
        engine = seed.make_engine()
        seeded = seed.seed(engine=engine, organisations=args.organisations, individuals=args.individuals)
        from backend.main import create_app  # deliberate: as above

        app = create_app(get_settings(), engine=engine, run_worker=False)
        path = f"/letters/{seeded.published_slug}"
        status, headers, length = asyncio.run(_caller(app, path, [])())
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
        etag = headers[b"etag"]
        page = _caller(app, path, [(b"accept-encoding", b"gzip")])
        revalidate = _caller(app, path, [(b"if-none-match", etag)])
        asyncio.run(_run(page, 50, 200))  # warm: imports, the statement cache, the page cache
        asyncio.run(_run(revalidate, 50, 304))
        per_200 = asyncio.run(_run(page, args.requests, 200))
        per_304 = asyncio.run(_run(revalidate, args.requests, 304))
        print(f"page {path}: {length:,} bytes, ETag {etag.decode()}")
        for name, (wall, cpu) in (("200", per_200), ("304", per_304)):
            print(f"{name}: {wall:.3f} ms per request, {cpu:.3f} ms CPU ({args.requests} requests)")
        print("response headers of a 200:", ", ".join(sorted(k.decode() for k in headers)))
        if not args.no_profile:
            for name, call, expected in (("200", page, 200), ("304", revalidate, 304)):
                print(f"\n--- cProfile, {args.requests} answers {name} (sorted by {args.sort}) ---")
                print(_profile(call, args.requests, expected, args.top, args.sort))
        dispose(engine)


if __name__ == "__main__":
    main()
