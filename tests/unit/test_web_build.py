"""launch/web_build.py: the one build of web/ and its freshness check, shared by `make up`
and the browser tests; an npm stand-in records what would have run."""
from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest

from launch.web_build import NPM_NETWORK_DEFAULTS, BuildError, WebBuild

# Stands in for npm: logs its arguments and the network settings it was given; `run build`
# writes both index.html files as vite would; FAKE_NPM_SLEEP makes it (and a child) hang.
FAKE_NPM = """#!/bin/sh
echo "$* retries=$npm_config_fetch_retries timeout=$npm_config_fetch_timeout" >> "$FAKE_NPM_LOG"
if [ -n "$FAKE_NPM_SLEEP" ]; then sleep "$FAKE_NPM_SLEEP" & wait; fi
if [ "$1" = "ci" ]; then mkdir -p node_modules; fi
if [ "$1" = "run" ]; then mkdir -p dist/playground && echo screen > dist/index.html && echo graphiql > dist/playground/index.html; fi
"""


@pytest.fixture
def web(tmp_path) -> Path:
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "playground").mkdir()
    (web / "package.json").write_text('{"name": "w"}')
    (web / "package-lock.json").write_text('{"lockfileVersion": 3}')
    (web / "src" / "main.tsx").write_text("render()")
    (web / "playground" / "main.tsx").write_text("graphiql()")
    return web


@pytest.fixture
def npm(tmp_path, monkeypatch) -> Path:
    script = tmp_path / "npm"
    script.write_text(FAKE_NPM)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FAKE_NPM_LOG", str(tmp_path / "npm.log"))
    monkeypatch.delenv("npm_config_fetch_retries", raising=False)
    monkeypatch.delenv("npm_config_fetch_timeout", raising=False)
    return script


def npm_calls(npm: Path) -> list[str]:
    log = npm.parent / "npm.log"
    return log.read_text().splitlines() if log.is_file() else []


def test_a_build_is_fresh_only_with_its_stamp_and_both_pages(web):
    build = WebBuild(web)
    (web / "dist" / "playground").mkdir(parents=True)
    (web / "dist" / "index.html").write_text("screen")
    (web / "dist" / "playground" / "index.html").write_text("graphiql")
    assert not build.is_fresh()  # no stamp: who knows what built it
    build.build_stamp.write_text(build.sources_digest())
    assert build.is_fresh()
    (web / "src" / "main.tsx").write_text("render(changed)")
    assert not build.is_fresh()
    build.build_stamp.write_text(build.sources_digest())
    (web / "dist" / "playground" / "index.html").unlink()
    assert not build.is_fresh()


def test_the_digest_covers_new_files_and_the_lock(web):
    build = WebBuild(web)
    before = build.sources_digest()
    (web / "src" / "new.ts").write_text("")
    assert build.sources_digest() != before
    with_new = build.sources_digest()
    (web / "package-lock.json").write_text('{"lockfileVersion": 3, "x": 1}')
    assert build.sources_digest() != with_new


def test_make_up_then_make_test_builds_once(web, npm):
    assert WebBuild(web).ensure_built(npm=str(npm)) is True  # make up
    assert WebBuild(web).ensure_built(npm=str(npm)) is False  # make test, a new process
    assert [call.split()[:2] for call in npm_calls(npm)] == [["ci", "--no-audit"], ["run", "build"]]


def test_a_source_change_rebuilds_without_reinstalling(web, npm):
    WebBuild(web).ensure_built(npm=str(npm))
    (web / "src" / "main.tsx").write_text("render(changed)")
    assert WebBuild(web).ensure_built(npm=str(npm)) is True
    assert [call.split()[0] for call in npm_calls(npm)] == ["ci", "run", "run"]
    (web / "package-lock.json").write_text('{"lockfileVersion": 3, "x": 1}')
    WebBuild(web).ensure_built(npm=str(npm))
    assert [call.split()[0] for call in npm_calls(npm)] == ["ci", "run", "run", "ci", "run"]


def test_npm_is_told_to_give_up_on_the_network_fast_unless_the_caller_says_otherwise(web, npm, monkeypatch):
    WebBuild(web).ensure_built(npm=str(npm))
    retries, timeout = NPM_NETWORK_DEFAULTS["npm_config_fetch_retries"], NPM_NETWORK_DEFAULTS["npm_config_fetch_timeout"]
    assert npm_calls(npm)[0].endswith(f"retries={retries} timeout={timeout}")
    monkeypatch.setenv("npm_config_fetch_retries", "5")
    (web / "package-lock.json").write_text('{"lockfileVersion": 3, "x": 1}')
    WebBuild(web).ensure_built(npm=str(npm))
    assert "retries=5" in npm_calls(npm)[-1]


def test_a_hung_npm_and_its_children_end_at_the_deadline(web, npm, monkeypatch):
    monkeypatch.setenv("FAKE_NPM_SLEEP", "600")
    with pytest.raises(BuildError, match=r"^`npm ci --no-audit --no-fund` in web/ did not finish within 0.5 s"):
        WebBuild(web).ensure_built(npm=str(npm), deadline_s=0.5)
    assert not WebBuild(web).is_installed()


def test_a_failing_build_says_so_and_leaves_no_stamp(web, npm):
    npm.write_text('#!/bin/sh\n[ "$1" = "ci" ] && mkdir -p node_modules && exit 0\necho "vite: syntax error in main.tsx" >&2; exit 2\n')
    with pytest.raises(BuildError, match=r"(?s)`npm run build` failed in web/ \(exit 2\).*syntax error"):
        WebBuild(web).ensure_built(npm=str(npm))
    assert not WebBuild(web).build_stamp.exists()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_registry_fails_in_one_sentence(tmp_path):
    """The real npm and web/'s real lock file, an empty cache and a registry nobody listens on.
    Without npm it fails in CI (the screen is built there) and skips only on a workstation."""
    if shutil.which("npm") is None:
        if os.environ.get("CI") or os.environ.get("MYBROKER_INFRA"):
            pytest.fail("npm is not installed, and CI builds the screen with it", pytrace=False)
        pytest.skip("npm is not installed")
    web = tmp_path / "web"
    web.mkdir()
    real = WebBuild().web
    for name in ("package.json", "package-lock.json"):
        shutil.copy(real / name, web / name)
    registry = f"http://127.0.0.1:{closed_port()}/"
    env = {**os.environ, "npm_config_registry": registry, "npm_config_cache": str(tmp_path / "npm-cache")}
    with pytest.raises(BuildError) as raised:
        WebBuild(web).ensure_built(env=env)
    message = str(raised.value)
    assert message == (
        f"`npm ci --no-audit --no-fund` could not reach the npm registry ({registry}: ECONNREFUSED), so web/ was not built;"
        " connect to the network or set npm_config_registry to a reachable mirror."
    )
    assert not (web / "dist").exists()
