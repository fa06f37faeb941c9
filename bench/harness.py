"""Shared pieces: free ports, the `undersigned serve` subprocess, nginx, the SMTP sink, resident memory, the machine."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """A scenario could not run (a missing tool, a server that did not start): the run fails."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_tool(name: str, hint: str) -> str:
    """The path of a command-line tool, or a clear error naming how to install it."""
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()),
                                      None)
    if path is None:
        raise BenchError(f"`{name}` is not installed: {hint}")
    return path


def wait_for_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Polls `url` until it answers (any HTTP status), the process dies, or the time runs out."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"the process serving {url} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s ({last})")


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    """SIGTERM (then SIGKILL) to a process we started, and to its process group (uvicorn's children)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# Resident memory ------------------------------------------------------------------------------------------

def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def rss_mb(pid: int) -> float:
    """Resident set size of one process, in MB."""
    return _status_kb(pid, "VmRSS") / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children(pid: int) -> list[int]:
    """The child processes of a process, whichever of its threads started them (each thread has its own list)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


# The app --------------------------------------------------------------------------------------------------

@dataclass
class Server:
    """`undersigned serve` as a subprocess on a free loopback port (one process, or uvicorn's workers)."""

    env: dict[str, str]
    workdir: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/") -> None:
        env = {**self.env, "BASE_URL": self.url, "PORT": str(self.port)}
        log = (self.workdir / f"serve-{self.port}.log").open("wb")
        # `python -m backend.cli` with this checkout first on the path: the `undersigned serve` of this tree.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_http(self.url + ready_path, proc=self.proc)
        if self.workers > 1:  # every worker process must be up, not only the first
            deadline = time.monotonic() + 30
            while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the one process, or uvicorn's worker children."""
        if self.proc is None:
            return []
        if self.workers <= 1:
            return [self.proc.pid]
        return [pid for pid in children(self.proc.pid) if b"resource_tracker" not in _cmdline(pid)]

    def rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.worker_pids()]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the serving processes together."""
        return sum(cpu_seconds(pid) for pid in self.worker_pids())

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / f"serve-{self.port}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Worker:
    """`undersigned worker` as a subprocess (the outbox sender and scheduler), as production runs it.

    Started at a lower CPU priority (`nice -n 10`): on a machine shared with `serve`, mail waits a little during a
    storm (durable in the outbox) rather than taking time from the people signing. Not the idle scheduling class:
    on SQLite a worker starved while it holds the write lock would stall every other writer.
    """

    env: dict[str, str]
    workdir: Path
    nice: int = 10
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**self.env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), self.env.get("PYTHONPATH")]))}
        log = (self.workdir / "worker.log").open("wb")
        self.proc = subprocess.Popen(["nice", "-n", str(self.nice), sys.executable, "-m", "backend.cli", "worker"],
                                     env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


@dataclass
class Floor:
    """bench/floor.py (a bare FastAPI app: the same page, the same form parsing, two rows a request) under uvicorn,
    as one serve process runs the app (access log off)."""

    workdir: Path
    database_url: str
    page: bytes
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        page = self.workdir / f"floor-page-{self.port}.html"
        page.write_bytes(self.page)
        env = {**os.environ, "FLOOR_DATABASE_URL": self.database_url, "FLOOR_PAGE": str(page),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        log = (self.workdir / f"floor-{self.port}.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.floor:app", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
                                     env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_http(self.url + "/ready", proc=self.proc)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc is not None else 0.0

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


@contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


# nginx, the reference static server -----------------------------------------------------------------------

NGINX_CONF = """\
{user}worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    types {{ text/html html; application/zip zip; }}
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        etag on;
        location = /sign {{
            # The sign-on reference: the form page on GET, a 303 on POST, as the app answers.
            add_header Set-Cookie "__Host-us_csrf={csrf_seed}; HttpOnly; Path=/; SameSite=lax; Secure";
            if ($request_method = POST) {{ return 303 /sent; }}
            default_type text/html;
            try_files /sign.html =404;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """Debian's nginx, run by us (not as a service) with a config in a temporary folder."""

    root: Path
    workers: int = 1
    csrf_seed: str = "x" * 43
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def put(self, name: str, data: bytes) -> None:
        (self.root / "www").mkdir(parents=True, exist_ok=True)
        (self.root / "www" / name).write_bytes(data)

    def start(self) -> None:
        binary = require_tool("nginx", "apt-get install -y nginx (Debian's package; it is run by the benchmark, "
                                       "not as a service)")
        (self.root / "www").mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        # As root, nginx's workers would drop to www-data, which cannot read our private temp folder.
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(user=user, workers=self.workers, root=self.root, port=self.port,
                                          csrf_seed=self.csrf_seed))
        self.proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(self.root), "-e",
                                      str(self.root / "nginx-error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_http(self.url + "/", timeout=15, proc=self.proc)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


DEPLOY_WRAPPER = """\
{user}worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;  # as Debian's nginx.conf, which the site is included in
    keepalive_requests 1000000;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/site.conf;
}}
"""


def deploy_site(*, port: int, upstreams: list[int], media: Path, cache: Path) -> str:
    """deploy/nginx/undersigned.conf with these addresses and folders (each value replaced must be in it)."""
    text = (ROOT / "deploy" / "nginx" / "undersigned.conf").read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{port};",
        "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n": "".join(f"    server 127.0.0.1:{p};\n"
                                                                        for p in upstreams),
        "/srv/undersigned/app/templates/static/": f"{ROOT / 'templates' / 'static'}/",
        "/srv/undersigned/media/": f"{media}/",
        "/var/cache/nginx/undersigned": str(cache),
    }
    for old, new in replacements.items():
        if old not in text:
            raise BenchError(f"deploy/nginx/undersigned.conf no longer has {old!r}")
        text = text.replace(old, new)
    return text


@dataclass
class DeployNginx:
    """The nginx site of deploy/ in front of the app, run by us with its own prefix."""

    root: Path
    upstream: int
    media: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = require_tool("nginx", "apt-get install -y nginx")
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "cache", "logs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "site.conf").write_text(deploy_site(port=self.port, upstreams=[self.upstream],
                                                         media=self.media, cache=self.root / "cache"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = self.root / "nginx.conf"
        conf.write_text(DEPLOY_WRAPPER.format(user=user, workers=self.workers, root=self.root))
        self.proc = subprocess.Popen([binary, "-c", str(conf), "-p", f"{self.root}/", "-e",
                                      str(self.root / "nginx-error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_http(self.url + "/healthz", timeout=15, proc=self.proc)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


# The SMTP sink --------------------------------------------------------------------------------------------

@dataclass
class SmtpSink:
    """aiosmtpd in its own process (`bench/smtpsink.py`), so it does not share a GIL with the load generator."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def status_file(self) -> Path:
        return self.root / "smtp-status.json"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "smtpsink.py"), "--port", str(self.port),
             "--status", str(self.status_file)],
            stdout=subprocess.DEVNULL, stderr=(self.root / "smtp.log").open("wb"), start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("the SMTP sink exited at once: see " + str(self.root / "smtp.log"))
            if self.status_file.exists():
                return
            time.sleep(0.05)
        raise BenchError("the SMTP sink did not start")

    def status(self) -> dict[str, Any]:
        for _ in range(20):
            try:
                data: dict[str, Any] = json.loads(self.status_file.read_text())
                return data
            except (OSError, ValueError):  # being replaced at this moment
                time.sleep(0.01)
        return {}

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


# The machine ----------------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = _meminfo_gb()
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem:.1f} GB" if mem else "unknown",
        "python": platform.python_version(),
        "os": platform.platform(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def cpu_probe(steps: int = 2_000_000) -> float:
    """Milliseconds a fixed pure-Python loop takes on this machine now (the best of three): shared virtual
    machines run at very different speeds from hour to hour, and this puts a figure on it beside the results."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for n in range(steps):
            total += n
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def _meminfo_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except (OSError, ValueError):
        pass
    return 0.0
