"""Measures how long `mybroker router --supergraph FILE` takes from launch to a healthy
GET /health, over several launches (process start and imports included):

    python -m bench.router.startup_timing --supergraph FILE [--runs 5] [--workers 1]

Prints one line per launch and a JSON summary line (seconds). Besides the wall time it
reports the CPU time the process used until healthy (Linux), which is what the wall time
comes down to on an idle core: on a busy machine the wall time mostly measures the wait."""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def time_one_start(supergraph: str, workers: int, timeout: float = 60.0) -> tuple[float, float | None]:
    """(wall seconds, CPU seconds of the launched process) until GET /health answers 200."""
    port = _free_port()
    command = [sys.executable, "-m", "launch.cli", "router", "--supergraph", supergraph, "--port", str(port), "--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the router exited with status {process.returncode}; run it by hand to see why")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started, _cpu_seconds(process.pid)
            except OSError:
                pass
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"the router was not healthy within {timeout} s")
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.router.startup_timing")
    parser.add_argument("--supergraph", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    times, cpu = [], []
    for run in range(1, args.runs + 1):
        seconds, cpu_seconds = time_one_start(args.supergraph, args.workers)
        times.append(seconds)
        if cpu_seconds is not None:
            cpu.append(cpu_seconds)
        print(f"start {run}: {seconds:.3f} s wall, {cpu_seconds if cpu_seconds is not None else float('nan'):.2f} s CPU", flush=True)
    summary = {"runs": len(times), "workers": args.workers, "median_s": round(statistics.median(times), 3),
               "min_s": round(min(times), 3), "max_s": round(max(times), 3)}
    if cpu:
        summary["median_cpu_s"] = round(statistics.median(cpu), 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
