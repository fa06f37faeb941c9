"""The `undersigned` command: serve, worker, migrate, create-admin, import, export.

An entry point: it reads the settings from the environment (`get_settings()`) and passes them on. Each command
imports what it runs inside its function (`# deliberate`): `undersigned migrate` does not load the web app.

Importing this module loads nothing but the standard library, and must stay so: it is the `__main__` of
`undersigned serve` and `undersigned worker`, and multiprocessing runs a parent's `__main__` again in each process
it starts, so every PDF rendering process (backend/letters/pdf.py) would import the app first (~0.9 s each;
tests/test_cli.py checks it).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from backend.config import Settings
    from backend.templating import Templating


def _settings() -> Settings:
    """The settings in the environment (`backend.config.get_settings`)."""
    from backend.config import get_settings  # deliberate: nothing but the standard library at import (above)

    return get_settings()


def _engine() -> Engine:
    """The database of the settings in the environment, for the commands that work on it."""
    from backend.db import make_engine  # deliberate: as above

    return make_engine(_settings().database_url)


def _templating(settings: Settings) -> Templating:
    """The one Jinja environment of this process, with the route table (emails link by route name)."""
    from backend.routes import route_table  # deliberate: the whole app, only for the commands that send mail
    from backend.templating import Templating, install  # deliberate: as above

    return install(Templating(settings, router=route_table(settings)))


def cmd_migrate(args: argparse.Namespace) -> int:
    from backend.migrations import upgrade  # deliberate: as above

    upgrade(_settings().database_url, args.revision)
    print(f"Database migrated to {args.revision}.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # deliberate: only `serve` needs the server

    from backend import config  # deliberate: as above
    from backend.migrations import upgrade  # deliberate: as above

    if args.host or args.port:  # the app (and BASE_URL in development) follows --host/--port like HOST/PORT
        os.environ.update({k: str(v) for k, v in (("HOST", args.host), ("PORT", args.port)) if v})
        config.get_settings.cache_clear()
    settings = _settings()
    if settings.is_development and settings.is_sqlite:
        from backend import devdata  # deliberate: development only, it loads the example letters

        _templating(settings)
        upgrade(settings.database_url)
        devdata.prepare(engine=_engine(), settings=settings)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"Undersigned is starting on http://{host}:{port}/ (press Ctrl+C to stop).", flush=True)
    if settings.is_development and not settings.smtp_host:
        print(f"Mail is captured, not sent: read it at http://{host}:{port}/dev/mailbox", flush=True)
    uvicorn.run("backend.main:app_factory", factory=True, host=host, port=port, workers=args.workers,
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips, log_level="info",
                access_log=settings.access_log)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from backend import worker  # deliberate: the jobs and the outbox, only for this command
    from backend.migrations import ensure_current  # deliberate: as above

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    engine = _engine()
    _templating(settings)
    ensure_current(engine, settings.database_url)
    if args.once:
        worker.run_once(engine, settings)
        return 0
    from backend.letters.pdf import start_fork_server  # deliberate: as above

    start_fork_server()  # the press packs this worker builds render from it
    stop = threading.Event()
    print(f"Undersigned worker {os.getpid()} is draining the outbox and running scheduled jobs.", flush=True)
    try:
        worker.run_forever(engine, stop, settings)
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from sqlmodel import Session  # deliberate: imports of this command only

    from backend.accounts import service  # deliberate: as above
    from backend.errors import InvalidInput  # deliberate: as above

    password = args.password or os.environ.get("UNDERSIGNED_ADMIN_PASSWORD")
    if password is None:
        password = getpass.getpass("Password for the admin (10+ characters): ")
    with Session(_engine()) as session:
        try:
            email = service.normalise_email(args.email)
            user = service.get_by_email(session=session, email=email)
            if user is None:
                user = service.create_user(session=session, email=email, name=args.name, password=password,
                                           verified=True, is_admin=True)
            else:
                user.is_admin = True
                service.set_password(session=session, user=user, password=password)
        except InvalidInput as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        session.commit()
    print(f"{email} is a site admin.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from backend.letters import commands  # deliberate: each command loads only what it runs

    return commands.cli_import(args, engine=_engine())


def cmd_export(args: argparse.Namespace) -> int:
    from backend.letters import commands  # deliberate: each command loads only what it runs

    return commands.cli_export(args, engine=_engine())


def cmd_inbound(args: argparse.Namespace) -> int:
    """Replies by email: read an IMAP mailbox, listen over SMTP/LMTP, or take one message from a file."""
    from backend.inbound import service, sources  # deliberate: imports of this command only
    from backend.migrations import ensure_current  # deliberate: as above

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    engine = _engine()
    _templating(settings)
    ensure_current(engine, settings.database_url)
    if args.source == "file":
        raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
        try:
            row_id = sources.take(engine=engine, raw=raw, source="file", settings=settings)
        except service.MessageTooLarge as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Stored as inbound message {row_id}.")
        return 0
    if args.source == "imap":
        if args.once:
            print(f"{sources.poll_imap(engine=engine, settings=settings)} message(s) read.")
            return 0
        stop = threading.Event()
        print(f"Reading replies from {settings.inbound_imap_host} every {settings.inbound_imap_poll_seconds} s.",
              flush=True)
        try:
            sources.run_imap_forever(engine=engine, stop=stop, settings=settings)
        except KeyboardInterrupt:
            stop.set()
        return 0
    controller = sources.listener(engine=engine, settings=settings, host=args.host, port=args.port,
                                  lmtp=True if args.lmtp else None)
    controller.start()
    print(f"Receiving replies over {'LMTP' if controller.lmtp else 'SMTP'} on "  # type: ignore[attr-defined]
          f"{controller.hostname}:{controller.port} (Ctrl+C to stop).", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="undersigned", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the web app (in development also migrates and loads the examples)")
    p.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    p.add_argument("--workers", type=int, default=1, help="number of server processes (default 1)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="send queued mail and run scheduled jobs (production)")
    p.add_argument("--once", action="store_true", help="run one pass and exit")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="bring the database schema up to date")
    p.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-admin", help="create a site admin, or make an account one")
    p.add_argument("email")
    p.add_argument("--name", default="Site admin")
    p.add_argument("--password", help="(default: asked, or UNDERSIGNED_ADMIN_PASSWORD)")
    p.set_defaults(func=cmd_create_admin)

    p = sub.add_parser("import", help="create a letter from a Markdown file with YAML front matter")
    p.add_argument("file")
    p.add_argument("--campaign", help="slug of the campaign to add it to (default: from the file or new)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="write a letter as a Markdown file with YAML front matter")
    p.add_argument("slug")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("inbound", help="receive replies to letters (IMAP mailbox, SMTP/LMTP listener, or a file)")
    inbound = p.add_subparsers(dest="source", required=True)
    q = inbound.add_parser("imap", help="read the INBOUND_IMAP_* mailbox and move what was read")
    q.add_argument("--once", action="store_true", help="read once and exit")
    q = inbound.add_parser("listen", help="an SMTP (or LMTP) server for a subdomain routed to it")
    q.add_argument("--host", help="address to listen on (default: INBOUND_LISTEN_HOST)")
    q.add_argument("--port", type=int, help="port (default: INBOUND_LISTEN_PORT)")
    q.add_argument("--lmtp", action="store_true", help="speak LMTP (default: INBOUND_LISTEN_LMTP)")
    q = inbound.add_parser("file", help="take one raw message from a file ('-': standard input), e.g. a pipe")
    q.add_argument("file")
    p.set_defaults(func=cmd_inbound)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
