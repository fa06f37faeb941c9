"""The `undersigned` command: help for each subcommand, serve on the embedded default, the schema check."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from backend.cli import build_parser
from tests.conftest import csrf_from

SUBCOMMANDS = ["serve", "worker", "migrate", "create-admin", "import", "export"]


def test_the_command_module_loads_only_the_standard_library():
    """`backend.cli` is the `__main__` of `undersigned serve` and `worker`, and multiprocessing imports a parent's
    `__main__` again in every process it starts: each PDF rendering process would load the app first."""
    probe = ("import sys, backend.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlalchemy', 'sqlmodel', 'fastapi', 'starlette', 'pydantic', 'jinja2', 'weasyprint') "
             "or (m.startswith('backend.') and m != 'backend.cli')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([name, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: undersigned {name}" in capsys.readouterr().out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_the_embedded_default_migrates_loads_examples_and_serves_home(tmp_path: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "DATABASE_URL", "TEST_DATABASE"))}
    env.update({"ENVIRONMENT": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}",
                "PORT": str(port), "LOAD_EXAMPLES": "true", "MEDIA_DIR": str(tmp_path / "media")})
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        assert response is not None and response.status_code == 200
        assert "Open letters, signed together" in response.text
        assert "Restoring trust in London" in response.text  # the example published on first run
        letter = httpx.get(f"http://127.0.0.1:{port}/letters/restoring-trust-in-london-policing", timeout=5)
        assert letter.status_code == 200 and "Dear Commissioner," in letter.text
        mailbox = httpx.get(f"http://127.0.0.1:{port}/dev/mailbox", timeout=5)
        assert mailbox.status_code == 200
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "Development log-in: campaigns@example.org" in output
    assert "Loaded 3 example letter(s)" in output
    assert f"http://127.0.0.1:{port}/" in output


def test_app_refuses_to_serve_on_a_database_behind_the_latest_migration(tmp_path: Path, settings):
    from fastapi.testclient import TestClient

    from backend.db import make_engine
    from backend.main import create_app
    from backend.migrations import DatabaseBehind

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app(settings.model_copy(update={"database_url": url}), engine=make_engine(url), run_worker=False)
    with pytest.raises(DatabaseBehind, match="undersigned migrate"), TestClient(app):
        pass


@pytest.mark.real_commits
def test_create_admin_makes_a_verified_admin(settings, db):
    from backend.accounts import service
    from backend.cli import main

    assert main(["create-admin", "Admin@Example.org", "--name", "Ada Admin",
                 "--password", "a long enough password"]) == 0
    user = service.get_by_email(session=db, email="admin@example.org")
    assert user is not None and user.is_admin and user.verified_at is not None
    assert main(["create-admin", "admin@example.org", "--password", "short"]) == 2


@pytest.mark.parametrize(("trusted", "other_visitor"), [("127.0.0.1,::1", 422), ("192.0.2.1", 429)],
                         ids=["proxy-on-loopback", "proxy-elsewhere"])
def test_serve_behind_a_proxy_limits_each_visitor_by_the_address_the_proxy_saw(tmp_path: Path, trusted: str,
                                                                              other_visitor: int):
    """Behind nginx every request comes from 127.0.0.1: `serve` takes the visitor's address from X-Forwarded-For
    when the proxy is one FORWARDED_ALLOW_IPS trusts (loopback by default), so the log-in limit counts each visitor,
    not the proxy. From an untrusted peer the header is ignored: nobody picks the address they are counted by."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "DATABASE_URL", "TEST_DATABASE"))}
    env.update({"ENVIRONMENT": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}",
                "PORT": str(port), "LOAD_EXAMPLES": "false", "MEDIA_DIR": str(tmp_path / "media"),
                "EMBEDDED_WORKER": "false", "RATE_LIMIT_LOGIN": "3/minute", "FORWARDED_ALLOW_IPS": trusted})
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"

    def attempt(visitor: str) -> int:
        with httpx.Client(base_url=base, headers={"X-Forwarded-For": visitor}, timeout=5) as client:
            token = csrf_from(client.get("/login").text)
            return client.post("/login", data={"csrf_token": token, "email": "x@example.org",
                                               "password": "wrong password"}).status_code

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        assert [attempt("203.0.113.5") for _ in range(3)] == [422, 422, 422]
        assert attempt("203.0.113.5") == 429
        assert attempt("203.0.113.6") == other_visitor
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
