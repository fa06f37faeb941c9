"""HTTP load with wrk (Debian's package): requests/s and latency percentiles from its Lua `done` callback."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchError, require_tool

LUA = """\
-- Written by bench/wrkload.py. GET one path, optionally with If-None-Match; print the figures as JSON.
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"
local etag = os.getenv("BENCH_ETAG")
if etag and etag ~= "" then wrk.headers["If-None-Match"] = etag end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "socket_errors": %d, "status_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    bytes: int
    socket_errors: int
    status_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run(*, url: str, path: str, workdir: Path, connections: int, seconds: float, threads: int = 1,
        etag: str | None = None) -> WrkResult:
    """Runs wrk against url+path for `seconds` with `connections` open connections."""
    binary = require_tool("wrk", "apt-get install -y wrk (Debian's package)")
    script = workdir / "bench.lua"
    script.write_text(LUA)
    env = {"BENCH_PATH": path, "BENCH_ETAG": etag or "", "PATH": "/usr/bin:/bin"}
    cmd = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(script), url]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        requests=data["requests"], seconds=data["duration_us"] / 1e6, bytes=data["bytes"],
        socket_errors=data["socket_errors"], status_errors=data["status_errors"],
        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
