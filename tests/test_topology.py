"""The production topology of deploy/, tested: nginx with deploy/nginx/undersigned.conf in front of two `undersigned
serve` processes and an `undersigned worker`, on PostgreSQL and Redis; sign-on → confirm → publish → press pack,
every request through nginx."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend import PROJECT_ROOT
from tests.conftest import _free_port, csrf_from
from tests.signatures.helpers import link_in, open_letter, sign_data

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.real_commits,  # a server in other processes
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                       reason="runs on PostgreSQL: set TEST_DATABASE_URL (CI's PostgreSQL pass)"),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (apt-get install nginx)"),
]


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _site(*, port: int, upstreams: list[int], media: Path, cache: Path) -> str:
    """deploy/nginx/undersigned.conf with this run's addresses and folders (each replaced value must be there)."""
    text = (PROJECT_ROOT / "deploy" / "nginx" / "undersigned.conf").read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{port};",
        "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n":
            "".join(f"    server 127.0.0.1:{p};\n" for p in upstreams),
        "/srv/undersigned/app/templates/static/": f"{PROJECT_ROOT / 'templates' / 'static'}/",
        "/srv/undersigned/media/": f"{media}/",
        "/var/cache/nginx/undersigned": str(cache),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/undersigned.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


@dataclass
class Topology:
    url: str
    serve_ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    folder: Path


def _wait_http(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def topology(engine: Any, smtp: Any) -> Iterator[Topology]:
    if not _redis_up():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    folder = Path(tempfile.mkdtemp(prefix="undersigned-topology-"))
    media = folder / "media"
    media.mkdir()
    command = str(Path(sys.executable).with_name("undersigned"))
    env = {**os.environ, "EMBEDDED_WORKER": "false", "REDIS_URL": REDIS_URL, "MEDIA_DIR": str(media),
           "X_ACCEL_REDIRECT": "true", "ACCESS_LOG": "false", "OUTBOX_POLL_SECONDS": "0.2",
           "DOCUMENT_COALESCE_SECONDS": "0.5"}
    serve_ports = [_free_port(), _free_port()]
    nginx_port = _free_port()
    env["BASE_URL"] = f"http://127.0.0.1:{nginx_port}"
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for name, args in [*((f"serve-{p}", ["serve", "--host", "127.0.0.1", "--port", str(p)]) for p in serve_ports),
                           ("worker", ["worker"])]:
            log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 - closed below
            logs.append(log)
            processes.append(subprocess.Popen([command, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                              cwd=folder))
        for port in serve_ports:
            _wait_http(f"http://127.0.0.1:{port}/healthz")
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "cache", "logs"):
            (folder / sub).mkdir()
        (folder / "site.conf").write_text(_site(port=nginx_port, upstreams=serve_ports, media=media,
                                                cache=folder / "cache"))
        (folder / "nginx.conf").write_text(f"""daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""")
        processes.append(subprocess.Popen([NGINX, "-p", f"{folder}/", "-c", str(folder / "nginx.conf")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        _wait_http(f"http://127.0.0.1:{nginx_port}/healthz")
        yield Topology(f"http://127.0.0.1:{nginx_port}", serve_ports, processes, folder)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
        for name in sorted(os.listdir(folder)):  # shown by pytest when the test fails
            if name.endswith(".log"):
                print(f"--- {name}\n{(folder / name).read_text(errors='replace')[-3000:]}")
        shutil.rmtree(folder, ignore_errors=True)


def _form(client: httpx.Client, page_url: str, post_url: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    token = csrf_from(client.get(page_url).text)
    return client.post(post_url, data={"csrf_token": token, **data}, **kwargs)


def test_sign_on_confirm_publish_and_press_pack_through_nginx(topology: Topology, db: Any, make_user: Any,
                                                              smtp: Any) -> None:
    setup = open_letter(db, make_user, open_signon_enabled=True, moderate_open_signons=False)
    slug = setup.letter.slug
    with httpx.Client(base_url=topology.url, timeout=60) as visitor:
        # Sign on: the form and its POST, through nginx to one of the serve processes.
        sign = f"/letters/{slug}/sign"
        response = _form(visitor, sign, sign, sign_data(setup.letter.current_version_id),
                         files={"logo": ("", b"", "application/octet-stream")})
        assert response.status_code == 303 and response.headers["location"] == f"{sign}/sent"
        # The worker sends the confirmation link; confirm through nginx.
        [mail] = smtp.wait_for(1, timeout=30, to="sam@friends.example")
        confirm = link_in(mail, "/confirm/")
        response = _form(visitor, confirm, confirm, {"version_id": str(setup.letter.current_version_id)})
        assert response.status_code == 303 and response.headers["location"].startswith("/manage/")
        # nginx refuses a body over a plain form's limit itself.
        assert visitor.post("/login", content=b"x" * 200_000,
                            headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 413

    with httpx.Client(base_url=topology.url, timeout=60) as lead:
        response = _form(lead, "/login", "/login", {"email": setup.lead.email, "password": setup.lead.password,
                                                    "next": "/"})
        assert response.status_code == 303
        page = f"/letters/{slug}/publish"
        response = _form(lead, page, f"{page}/now", {})
        assert response.status_code == 303

    with httpx.Client(base_url=topology.url, timeout=120) as reader:
        # The public page: from the app once, then from nginx's cache; revalidated with its ETag.
        first = reader.get(f"/letters/{slug}")
        assert first.status_code == 200 and "Friends of the Park" in first.text
        assert first.headers["x-cache-status"] in ("MISS", "EXPIRED")
        second = reader.get(f"/letters/{slug}")
        assert second.headers["x-cache-status"] == "HIT" and second.content == first.content
        assert reader.get(f"/letters/{slug}", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
        static = reader.get("/static/site.css")  # sent by nginx itself
        assert static.status_code == 200 and static.content == (PROJECT_ROOT / "templates/static/site.css").read_bytes()
        # The press pack: built by the worker, sent by nginx (X-Accel-Redirect).
        pack = reader.get(f"/letters/{slug}/press-pack.zip")
        assert pack.status_code == 200, pack.text[:500]
        assert "x-accel-redirect" not in pack.headers and pack.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(pack.content)).namelist()
        assert f"{slug}-press-pack/letter.pdf" in names and f"{slug}-press-pack/signatories.csv" in names
        # Every serve process is ready.
        for port in topology.serve_ports:
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()
            assert ready["status"] == "ok" and ready["schema"] == "current", ready
    assert all(p.poll() is None for p in topology.processes)  # nothing died on the way
