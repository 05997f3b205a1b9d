"""graphql-http's `auditServer` (the GraphQL-over-HTTP spec's own audit), installed from
tests/conformance/graphql-http/package-lock.json and run by its audit.mjs.

`npm ci` runs only when node_modules was not installed from the current lock (a stamp
holds the lock's sha256), with no retries and a bounded time, so an unreachable registry
fails in seconds with one sentence (AuditUnavailable) instead of hanging the run."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

AUDIT_DIR = Path(__file__).resolve().parent / "graphql-http"
INSTALL_STAMP = AUDIT_DIR / "node_modules" / ".mybroker-lock-sha256"
# Node's global fetch and AbortSignal.timeout, which audit.mjs uses.
MIN_NODE = (18, 0)
# npm ci of two small packages takes seconds; a registry that accepts the connection and
# then stalls is cut by npm's own fetch timeout first.
NPM_FETCH_TIMEOUT_MS = 20_000
NPM_TIMEOUT_SECONDS = 60
AUDIT_TIMEOUT_SECONDS = 90
_NETWORK_CODES = ("ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH", "EHOSTUNREACH", "ERR_SOCKET_TIMEOUT")


class AuditUnavailable(Exception):
    """The audit cannot run here (no node or npm, the registry unreachable); the message is one sentence."""


@dataclass(frozen=True)
class AuditResult:
    id: str
    name: str
    status: str  # ok | warn (a SHOULD failed) | notice (a MAY failed) | error (a MUST failed)
    reason: str | None = None
    response_status: int | None = None

    def describe(self) -> str:
        got = f" (HTTP {self.response_status})" if self.response_status is not None else ""
        return f"{self.id} {self.status}: {self.name}: {self.reason}{got}"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise AuditUnavailable(f"{name} is not installed, so graphql-http's audit cannot run (install Node.js 18+ with npm)")
    return found


def ensure_installed() -> str:
    """The node binary, once graphql-http is installed from the lock."""
    node = tool("node")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if tuple(int(part) for part in re.findall(r"\d+", version)[:2]) < MIN_NODE:
        raise AuditUnavailable(f"node {version} is too old for graphql-http's audit (it needs Node {MIN_NODE[0]}+ for fetch)")
    lock = hashlib.sha256((AUDIT_DIR / "package-lock.json").read_bytes()).hexdigest()
    if INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text().strip() == lock:
        return node
    npm = tool("npm")
    command = [
        npm, "ci", "--no-audit", "--no-fund", "--loglevel=error",
        "--fetch-retries=0", f"--fetch-timeout={NPM_FETCH_TIMEOUT_MS}",
    ]
    try:
        done = subprocess.run(command, cwd=AUDIT_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise AuditUnavailable(
            f"npm ci in {AUDIT_DIR} did not finish in {NPM_TIMEOUT_SECONDS} s: is the npm registry ({registry(npm)}) reachable?"
        ) from None
    if done.returncode != 0:
        output = done.stdout + done.stderr
        code = next((code for code in _NETWORK_CODES if code in output), None)
        if code is not None:
            raise AuditUnavailable(
                f"the npm registry ({registry(npm)}) is unreachable ({code}), so graphql-http cannot be installed in {AUDIT_DIR}"
            )
        raise AuditUnavailable(f"npm ci failed in {AUDIT_DIR} against the registry {registry(npm)}: {npm_error(output) or done.returncode}")
    INSTALL_STAMP.write_text(lock + "\n")
    return node


def npm_error(output: str) -> str:
    """npm's error in one line: its code and first message ("E404: 404 Not Found - GET ...")."""
    lines = [line.removeprefix("npm error").strip() for line in output.splitlines() if line.startswith("npm error")]
    code = next((line.removeprefix("code ").strip() for line in lines if line.startswith("code ")), "")
    message = next((line for line in lines if line and not line.startswith(("code ", "errno ", "A complete log"))), "")
    return ": ".join(part for part in (code, message) if part)


def registry(npm: str) -> str:
    try:
        return subprocess.run([npm, "config", "get", "registry"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "npm's registry"


def run_audit(node: str, url: str, headers: dict[str, str] | None = None) -> list[AuditResult]:
    """Every audit's result against `url`, each request carrying `headers`."""
    command = [node, str(AUDIT_DIR / "audit.mjs"), url]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}:{value}"]
    try:
        done = subprocess.run(command, cwd=AUDIT_DIR, capture_output=True, text=True, timeout=AUDIT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"graphql-http's audit did not finish in {AUDIT_TIMEOUT_SECONDS} s against {url}") from None
    if done.returncode != 0:
        raise AssertionError(done.stderr.strip() or f"audit.mjs exited with {done.returncode}")
    return [
        AuditResult(item["id"], item["name"], item["status"], item.get("reason"), item.get("responseStatus"))
        for item in json.loads(done.stdout)
    ]
