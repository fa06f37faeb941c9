"""Runs the benchmarks and prints one table: figure, target, a reference measured in the same run, pass or miss.

    .venv/bin/python bench/run.py                      # full run, SQLite, one serve process (~5 minutes)
    .venv/bin/python bench/run.py --quick              # CI: shorter runs, fewer rows (under a minute)
    .venv/bin/python bench/run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --workers 2

It starts everything itself on loopback (the app with `undersigned serve`, nginx, an SMTP sink), loads the data
through the app's services into a fresh database, and stops and removes all of it at the end. The exit code is
non-zero when a scenario is broken (for example a sign-on lost or doubled), or with --strict when a target is
missed; a missed target alone is printed, not fatal.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `backend` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, Nginx, Server, SmtpSink, Worker, cpu_probe, machine, require_tool

ORDER = ("page", "storm", "press", "mail", "memory")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs and fewer rows (CI; under a minute)")
    parser.add_argument("--database-url", help="a PostgreSQL server URL: a fresh database is created on it and "
                                               "dropped afterwards (default: a SQLite file in a temp folder)")
    parser.add_argument("--workers", type=int, default=1, help="serve processes (uvicorn workers; default 1)")
    parser.add_argument("--only", action="append", choices=ORDER, help="run only this scenario (repeatable)")
    parser.add_argument("--connections", type=int, default=64, help="open connections for the page (default 64)")
    parser.add_argument("--storm-users", type=int, default=32,
                        help="concurrent browsers in the sign-on storm (default 32)")
    parser.add_argument("--organisations", type=int, help="organisation signatories (default 500; quick 100)")
    parser.add_argument("--individuals", type=int, help="individual signatories (default 1500; quick 300)")
    parser.add_argument("--embedded-worker", action="store_true",
                        help="send mail from a thread of the serve process (the embedded default) instead of a "
                             "separate `undersigned worker` process (production)")
    parser.add_argument("--report", type=Path, help="also write the table as Markdown to this file")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    return parser.parse_args(argv)


def _environment(workdir: Path, database_url: str, smtp_port: int, embedded_worker: bool) -> dict[str, str]:
    """The app's settings for this run: production mode, loopback SMTP sink, signing limits raised."""
    unlimited = "1000000/minute"  # every request comes from 127.0.0.1: per-IP limits would stop the storm
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "REDIS_"))}
    env.update({
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(workdir / "media"),
        "LOAD_EXAMPLES": "false",
        "EMBEDDED_WORKER": "true" if embedded_worker else "false",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "MAIL_FROM": "Undersigned <no-reply@undersigned.bench>",
        # Production behind a proxy that logs requests (as nginx does): uvicorn's own access log off.
        "ACCESS_LOG": "false",
        "RATE_LIMIT_SIGN": unlimited,
        "RATE_LIMIT_SIGN_CONFIRM": unlimited,
        "RATE_LIMIT_SIGN_LINK_PAGE": unlimited,
        # The mail scenario invites thousands of organisations at once (one account's daily budget is far less).
        "INVITE_LIMIT_NEW_ACCOUNT": "1000000",
        "INVITE_LIMIT_ESTABLISHED": "1000000",
    })
    return env


def _fmt(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "×":
        return f"{value:.1f}×"
    if unit in ("/s", "sign-ons", "") and value >= 100:
        return f"{value:,.0f}{unit if unit == '/s' else ''}"
    if unit == "s":
        return f"{value:.2f} s"
    if unit in ("ms", "MB"):
        return f"{value:,.1f} {unit}"
    return f"{value:,.1f}{unit if unit == '/s' else ''}"


def table(rows: list[object]) -> list[list[str]]:
    header = ["Scenario", "Figure", "Result", "Target", "Reference (same run)", "Ratio", ""]
    body = [[r.scenario, r.figure, _fmt(r.value, r.unit), r.target, r.reference, r.ratio, r.status]  # type: ignore[attr-defined]
            for r in rows]
    return [header, *body]


def print_table(lines: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    for n, row in enumerate(lines):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def markdown(lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in lines[1:]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = [s for s in ORDER if not args.only or s in args.only]
    require_tool("wrk", "apt-get install -y wrk (Debian's package)")
    require_tool("nginx", "apt-get install -y nginx (Debian's package; the benchmark runs it itself)")
    organisations = args.organisations if args.organisations is not None else (100 if args.quick else 500)
    individuals = args.individuals if args.individuals is not None else (300 if args.quick else 1500)
    started = time.perf_counter()
    probe_before = cpu_probe()
    workdir = Path(tempfile.mkdtemp(prefix="undersigned-bench-"))
    drop_database = None
    server = nginx = sink = worker = None
    exit_code = 0
    try:
        if args.database_url and not args.database_url.startswith("sqlite"):
            from bench.seed import create_database

            database_url, drop_database = create_database(args.database_url)
        else:
            database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        sink = SmtpSink(workdir)
        env = _environment(workdir, database_url, sink.port, args.embedded_worker)
        os.environ.update({k: env[k] for k in ("ENVIRONMENT", "SECRET_KEY", "DATABASE_URL", "MEDIA_DIR",
                                               "LOAD_EXAMPLES", "MAIL_FROM", "INVITE_LIMIT_NEW_ACCOUNT",
                                               "INVITE_LIMIT_ESTABLISHED")})
        # This process only queues mail and reads the database: its settings need no relay, so it says so.
        os.environ["MAIL_CAPTURE"] = "true"
        os.environ["EMBEDDED_WORKER"] = "false"
        for key in [k for k in os.environ if k.startswith(("SMTP_", "REDIS_"))]:
            del os.environ[key]
        from backend.config import get_settings
        from backend.db import dispose

        get_settings.cache_clear()
        from backend.routes import route_table
        from backend.templating import Templating, install
        from bench import scenarios, seed

        # An entry point, as the CLI is: the one Jinja environment, linking emails by route name.
        install(Templating(get_settings(), router=route_table(get_settings())))

        print(f"Loading {organisations} organisations (with logos) and {individuals} individuals into "
              f"{'PostgreSQL' if drop_database else 'SQLite'} ...", flush=True)
        t0 = time.perf_counter()
        seed.migrate()
        engine = seed.make_engine()
        seeded = seed.seed(engine=engine, organisations=organisations, individuals=individuals)
        load_seconds = time.perf_counter() - t0
        sink.start()
        nginx = Nginx(workdir / "nginx", workers=args.workers)
        nginx.start()
        server = Server(env=env, workdir=workdir, workers=args.workers)
        server.start(ready_path=f"/letters/{seeded.published_slug}")
        if not args.embedded_worker:
            worker = Worker(env=env, workdir=workdir)
            worker.start()
        print(f"Data loaded in {load_seconds:.1f} s; serving on {server.url} with {args.workers} process(es).",
              flush=True)
        ctx = scenarios.Context(
            workdir=workdir, server=server, nginx=nginx, sink=sink, engine=engine, seeded=seeded,
            database_url=database_url,
            durations=scenarios.QUICK if args.quick else scenarios.FULL, connections=args.connections,
            storm_users=args.storm_users, rss_start=server.rss_mb())
        for name in selected:
            print(f"== {name}", flush=True)
            t = time.perf_counter()
            try:
                scenarios.SCENARIOS[name](ctx)
            except BenchError as exc:
                ctx.broken.append(f"{name}: {exc}")
            except Exception as exc:  # a scenario that crashes is broken, but the others still run
                ctx.broken.append(f"{name}: {type(exc).__name__}: {exc}")
                import traceback

                traceback.print_exc()
            print(f"   {time.perf_counter() - t:.1f} s", flush=True)
        dispose(engine)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if server is not None and server.proc is not None and server.proc.poll() is not None:
            print(server.log_tail(), file=sys.stderr)
        for thing in (server, worker, nginx, sink):
            if thing is not None:
                thing.stop()
        if drop_database is not None:
            drop_database()
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    lines = table(list(ctx.rows))
    info = machine()
    probe = f"CPU probe {probe_before:.0f} ms before, {cpu_probe():.0f} ms after (a fixed Python loop; lower is faster)"
    mode = "quick" if args.quick else "full"
    database = "PostgreSQL" if drop_database else "SQLite"
    command = "bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print()
    print(f"Undersigned benchmarks ({mode}, {database}, {args.workers} serve process(es)) on {date.today()}: "
          f"{info['cpus']} × {info['cpu']}, {info['memory']}, Python {info['python']}, load {info['load']}")
    print(probe)
    print_table(lines)
    for note in ctx.notes:
        print("note:", note)
    misses = [r for r in ctx.rows if r.ok is False]
    for problem in ctx.broken:
        print("BROKEN:", problem)
    print(f"{len(ctx.rows) - len(misses)} figures, {len(misses)} missed target(s), {len(ctx.broken)} broken; "
          f"{time.perf_counter() - started:.0f} s in all.")
    if args.report:
        args.report.write_text(
            f"Command: `{command.strip()}`  \nDate: {date.today()}  \nMachine: {info['cpus']} × {info['cpu']}, "
            f"{info['memory']}, Python {info['python']}, {info['os']}  \nMode: {mode}, {database}, "
            f"{args.workers} serve process(es), data loaded in {load_seconds:.1f} s  \n{probe}\n\n"
            + markdown(lines) + "\n\n" + "".join(f"- {n}\n" for n in ctx.notes)
            + "".join(f"- BROKEN: {b}\n" for b in ctx.broken))
    if ctx.broken:
        exit_code = 1
    elif misses and args.strict:
        exit_code = 3
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
