"""Load generation with wrk (C, event-driven: one thread saturates a Python gateway with a
fraction of a core). A generated Lua script POSTs one GraphQL body over keep-alive
connections and prints wrk's own summary as one JSON line, latency percentiles included."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.processes import BenchSetupError

_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%(body)s]==]

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"errors":%%d,"non2xx":%%d,"p50_us":%%d,"p95_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    requests_per_sec: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    non2xx: int
    kb_per_response: float


def wrk_binary() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchSetupError("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu)")
    return wrk


def run_wrk(url: str, body: bytes, *, seconds: float, connections: int, cpus: set[int], work_dir: Path) -> LoadResult:
    script = work_dir / "post.lua"
    if b"]==]" in body:
        raise BenchSetupError("the request body cannot be embedded in the wrk script")
    script.write_text(_SCRIPT % {"body": body.decode()})
    argv = [wrk_binary(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), url]
    done = subprocess.run(argv, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    line = next((l for l in done.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchSetupError(f"wrk failed ({done.returncode}): {done.stderr[-1000:] or done.stdout[-1000:]}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    requests = raw["requests"]
    return LoadResult(
        requests=requests,
        requests_per_sec=round(requests / (raw["duration_us"] / 1e6), 1),
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=raw["errors"],
        non2xx=raw["non2xx"],
        kb_per_response=round(raw["bytes"] / max(1, requests) / 1024, 1),
    )
