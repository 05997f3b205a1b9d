"""The one build of web/ (the trading screen into web/dist, GraphiQL into web/dist/playground)
and its one freshness check, shared by `make up` (python -m launch.web_build) and the
browser tests, so that `make test` right after `make up` builds nothing.

Fresh means: the stamp next to the build holds the sha256 of package-lock.json and every
source file, and both index.html files are there. `npm ci` runs only when node_modules was
not installed from the current package-lock.json. npm is told to give up on an unreachable
registry within seconds (no retries, a short fetch timeout) and the whole build has a
deadline, so a machine without the registry gets one sentence instead of a hung run."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"
SOURCES = ("package.json", "package-lock.json", "index.html", "vite.config.ts", "vite.playground.config.ts", "tsconfig.json")
SOURCE_DIRS = ("src", "playground", "public")
# npm's own defaults (two retries, 5 minutes per fetch) make an unreachable registry a
# quarter-hour hang; a reachable one answers each request well inside these.
NPM_NETWORK_DEFAULTS = {"npm_config_fetch_retries": "0", "npm_config_fetch_timeout": "20000"}
# Below pytest-timeout's 120 s, so the browser tests fail with this module's sentence.
BUILD_DEADLINE_S = 100.0
# What npm prints when it cannot talk to the registry at all.
NETWORK_ERRORS = re.compile(r"\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT)\b")


class BuildError(RuntimeError):
    """The build did not happen; str() is one sentence a person can act on (details after it)."""


@dataclass(frozen=True)
class WebBuild:
    web: Path = WEB

    @property
    def dist(self) -> Path:
        return self.web / "dist"

    @property
    def build_stamp(self) -> Path:
        return self.dist / ".build-stamp"

    @property
    def install_stamp(self) -> Path:
        return self.web / "node_modules" / ".mybroker-lock-sha256"

    def sources_digest(self) -> str:
        digest = hashlib.sha256()
        files = [self.web / name for name in SOURCES if (self.web / name).is_file()]
        files += sorted(p for d in SOURCE_DIRS for p in (self.web / d).rglob("*") if p.is_file())
        for path in files:
            digest.update(str(path.relative_to(self.web)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def lock_digest(self) -> str:
        return hashlib.sha256((self.web / "package-lock.json").read_bytes()).hexdigest()

    def is_built(self) -> bool:
        return (self.dist / "index.html").is_file() and (self.dist / "playground" / "index.html").is_file()

    def is_fresh(self) -> bool:
        return self.is_built() and _read(self.build_stamp) == self.sources_digest()

    def is_installed(self) -> bool:
        return _read(self.install_stamp) == self.lock_digest()

    def ensure_built(self, *, npm: str | None = None, env: Mapping[str, str] | None = None, deadline_s: float = BUILD_DEADLINE_S) -> bool:
        """Builds when stale; returns whether it built. Raises BuildError."""
        if self.is_fresh():
            return False
        npm = npm or npm_path()
        if npm is None:
            raise BuildError("npm is not installed, so web/ cannot be built: install Node.js 20.19+ with npm.")
        run_env = {**NPM_NETWORK_DEFAULTS, **(os.environ if env is None else env)}
        if not self.is_installed():
            self._run([npm, "ci", "--no-audit", "--no-fund"], run_env, deadline_s)
            self.install_stamp.write_text(self.lock_digest())
        self._run([npm, "run", "build"], run_env, deadline_s)
        self.build_stamp.write_text(self.sources_digest())
        return True

    def _run(self, command: list[str], env: Mapping[str, str], deadline_s: float) -> None:
        shown = " ".join([Path(command[0]).name, *command[1:]])
        # Its own process group: npm's children (vite, esbuild) hold the output pipes, so
        # the deadline must end them all, or reading the pipes would wait for them.
        process = subprocess.Popen(
            command, cwd=self.web, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise BuildError(f"`{shown}` in web/ did not finish within {deadline_s:g} s, so the screen was not built.") from None
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if done.returncode == 0:
            return
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        unreachable = NETWORK_ERRORS.search(output)
        if unreachable:
            registry = env.get("npm_config_registry") or "https://registry.npmjs.org/"
            raise BuildError(
                f"`{shown}` could not reach the npm registry ({registry}: {unreachable.group(1)}), so web/ was not built;"
                " connect to the network or set npm_config_registry to a reachable mirror."
            )
        raise BuildError(f"`{shown}` failed in web/ (exit {done.returncode}), so the screen was not built:\n{output}")


def npm_path() -> str | None:
    return shutil.which("npm")


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def main() -> int:
    """`make up`'s step: builds when stale, says what happened in one line."""
    build = WebBuild()
    try:
        built = build.ensure_built()
    except BuildError as error:
        print(f"web: {error}", file=sys.stderr)
        print("web: the platform runs without the trading screen and GraphiQL; / and /graphql say what they need.", file=sys.stderr)
        return 1
    print("web: built web/dist." if built else "web: web/dist is current, nothing to build.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
