"""Builds web/ into web/dist (the screen) and web/dist/playground (GraphiQL) for the
browser tests, once per change of its sources.

A stamp (sha256 of package-lock.json and every source file) is written next to the build;
a matching stamp means the build is current. `npm ci` runs only when node_modules was not
installed from the current package-lock.json."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
DIST = WEB / "dist"
BUILD_STAMP = DIST / ".build-stamp"
INSTALL_STAMP = WEB / "node_modules" / ".mybroker-lock-sha256"
SOURCES = ("package.json", "package-lock.json", "index.html", "vite.config.ts", "vite.playground.config.ts", "tsconfig.json")
SOURCE_DIRS = ("src", "playground")
PLAYGROUND = DIST / "playground"


def sources_digest() -> str:
    digest = hashlib.sha256()
    files = [WEB / name for name in SOURCES] + sorted(p for d in SOURCE_DIRS for p in (WEB / d).rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(WEB)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def npm_path() -> str | None:
    return shutil.which("npm")


def ensure_built() -> None:
    """Raises RuntimeError with npm's output when the install or the build fails."""
    wanted = sources_digest()
    built = (DIST / "index.html").is_file() and (PLAYGROUND / "index.html").is_file()
    if BUILD_STAMP.is_file() and BUILD_STAMP.read_text() == wanted and built:
        return
    npm = npm_path()
    if npm is None:
        raise RuntimeError("npm is not installed")
    lock = hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()
    if not (INSTALL_STAMP.is_file() and INSTALL_STAMP.read_text() == lock):
        _run([npm, "ci", "--no-audit", "--no-fund"])
        INSTALL_STAMP.write_text(lock)
    _run([npm, "run", "build"])
    BUILD_STAMP.write_text(wanted)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, cwd=WEB, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in web/:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
