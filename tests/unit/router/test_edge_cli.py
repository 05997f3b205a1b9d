"""`mybroker router` as a process: start-up on a supergraph file, one readable sentence
and a nonzero exit for a bad supergraph or a composition error, --workers N."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from launch.cli import _parser, _router_command, _router_options, _router_supergraph

from .test_router_http import serve

ROUTER = [sys.executable, "-m", "launch.cli", "router"]
START_TIMEOUT = 45.0  # generous: the machine is shared; the measured start-up is in docs/router.md


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def refused_start(*argv: str) -> str:
    """What `mybroker router ARGV` says when it stops at start-up (in process: the same code
    path as the command, without paying for a Python start per case)."""
    args = _parser().parse_args(["router", *argv])
    with pytest.raises(SystemExit) as stopped:
        await _router_supergraph(args)
    assert isinstance(stopped.value.code, str)  # a message, so the exit status is 1
    return stopped.value.code


def test_a_bad_supergraph_exits_nonzero_with_one_sentence(tmp_path):
    path = tmp_path / "broken.graphql"
    path.write_text("type Query {\n  me: User\n", encoding="utf-8")
    done = subprocess.run([*ROUTER, "--supergraph", str(path), "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"mybroker router: {path} is not valid GraphQL SDL: Syntax Error")


async def test_an_unreadable_file(tmp_path):
    output = await refused_start("--supergraph", str(tmp_path / "missing.graphql"))
    assert "cannot read the supergraph file" in output and "missing.graphql" in output


async def test_invalid_sdl_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "broken.graphql"
    path.write_text("type Query {\n  me: User\n", encoding="utf-8")
    output = await refused_start("--supergraph", str(path))
    assert "broken.graphql is not valid GraphQL SDL" in output and "Syntax Error" in output and "(line 3, column 1)" in output


async def test_a_schema_that_is_not_a_supergraph(tmp_path):
    path = tmp_path / "plain.graphql"
    path.write_text("type Query { me: String }\n", encoding="utf-8")
    output = await refused_start("--supergraph", str(path))
    assert "plain.graphql is not a supergraph this router can serve" in output and "join spec" in output


async def test_a_supergraph_with_an_unknown_type(tmp_path, supergraph_sdl):
    path = tmp_path / "edited.graphql"
    path.write_text(supergraph_sdl.replace("username: String!", "username: Nickname!", 1), encoding="utf-8")
    output = await refused_start("--supergraph", str(path))
    assert "edited.graphql does not build a schema" in output and "User fields" in output and "Nickname" in output


def subgraph_app(sdl: str) -> Starlette:
    async def endpoint(_request):
        return JSONResponse({"data": {"_service": {"sdl": sdl}}})

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


async def test_a_composition_error_names_subgraphs_field_and_reason():
    prices = subgraph_app('type Query { a: Int } type Stock @key(fields: "ticker") { ticker: ID! price: Int }')
    quotes = subgraph_app('type Query { b: Int } type Stock @key(fields: "ticker") { ticker: ID! price: String }')
    async with serve(prices) as prices_url, serve(quotes) as quotes_url:
        output = await refused_start("--subgraph", f"prices={prices_url}/graphql", "--subgraph", f"quotes={quotes_url}/graphql")
    assert "do not compose" in output
    assert '"Stock.price"' in output and '"prices"' in output and '"quotes"' in output and "incompatible" in output


async def test_an_unreachable_subgraph_is_named():
    output = await refused_start("--subgraph", f"wallet=http://127.0.0.1:{free_port()}/graphql")
    assert 'subgraph "wallet"' in output and "unreachable" in output


async def test_our_subgraphs_compose_only_with_the_internal_secret(monkeypatch):
    from tests.unit.core.test_subgraph_introspection import SECRET, assets_app

    monkeypatch.delenv("MYBROKER_INTERNAL_SECRET", raising=False)
    async with serve(assets_app()) as url:
        output = await refused_start("--subgraph", f"assets={url}/graphql")
        assert 'subgraph "assets"' in output and "refused" in output and "FORBIDDEN" in output
        monkeypatch.setenv("MYBROKER_INTERNAL_SECRET", SECRET)
        _sdl, supergraph = await _router_supergraph(_parser().parse_args(["router", "--subgraph", f"assets={url}/graphql"]))
    assert supergraph.type("Asset").graphs == ("assets",)


async def test_supergraph_and_plan_use_the_secret_a_running_platform_saved(monkeypatch, tmp_path):
    from launch.cli import _load_supergraph_sdl
    from mybroker.settings import Settings
    from tests.unit.core.test_subgraph_introspection import SECRET, assets_app

    monkeypatch.delenv("MYBROKER_INTERNAL_SECRET", raising=False)
    monkeypatch.setenv("MYBROKER_DATA_DIR", str(tmp_path))
    async with serve(assets_app()) as url:
        args = _parser().parse_args(["plan", "--subgraph", f"assets={url}/graphql", "op.graphql"])
        with pytest.raises(SystemExit, match=r'^mybroker plan: subgraph "assets" .* FORBIDDEN'):  # one sentence, no traceback
            await _load_supergraph_sdl(args)
        Settings(data_dir=tmp_path, internal_secret=SECRET).save_internal_secret()  # as `mybroker up` does
        assert '@join__graph(name: "assets"' in await _load_supergraph_sdl(args)


def test_bad_settings_stop_start_up(monkeypatch):
    monkeypatch.setenv("MYBROKER_ROUTER_MAX_DEPTH", "deep")
    with pytest.raises(SystemExit, match="MYBROKER_ROUTER_MAX_DEPTH must be a whole number"):
        _router_options(_parser().parse_args(["router", "--supergraph", "s.graphql"]))
    monkeypatch.delenv("MYBROKER_ROUTER_MAX_DEPTH")
    with pytest.raises(SystemExit, match="--workers must be 1 or more"):
        _router_command(_parser().parse_args(["router", "--supergraph", "s.graphql", "--workers", "0"]))


def wait_healthy(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "the router did not become healthy"
        time.sleep(0.05)


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        base + "/graphql", data=orjson.dumps({"query": query}), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as error:  # a 4xx still carries the GraphQL errors
        return orjson.loads(error.read())


def worker_pids(pid: int) -> set[int]:
    """The processes `pid` spawned to serve (not multiprocessing's resource tracker)."""
    workers = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text and b"spawn_main" in command:
            workers.add(int(status.parent.name))
    return workers


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}


def run_router(supergraph_file: Path, *extra: str):
    port = free_port()
    process = subprocess.Popen(
        [*ROUTER, "--supergraph", str(supergraph_file), "--port", str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "Traceback" not in output, output
    return output


def test_serves_a_supergraph_file_and_stops_cleanly(tmp_path, supergraph_sdl):
    path = tmp_path / "supergraph.graphql"
    path.write_text(supergraph_sdl, encoding="utf-8")
    process, base = run_router(path, "--no-introspection")
    try:
        wait_healthy(base, process)
        assert graphql(base, "{ __typename }") == {"data": {"__typename": "Query"}}
        assert graphql(base, "{ __schema { queryType { name } } }")["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    finally:
        output = stop(process)
    assert f"router on {base}/graphql" in output


def test_two_workers_answer_on_one_port_and_stop_cleanly(tmp_path, supergraph_sdl):
    path = tmp_path / "supergraph.graphql"
    path.write_text(supergraph_sdl, encoding="utf-8")
    process, base = run_router(path, "--workers", "2")
    try:
        wait_healthy(base, process)
        workers = worker_pids(process.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while len(workers) < 2 and time.monotonic() < deadline:  # the second may still be starting
            time.sleep(0.05)
            workers = worker_pids(process.pid)
        assert len(workers) == 2, workers
        for _ in range(10):
            assert graphql(base, "{ __typename }") == {"data": {"__typename": "Query"}}
    finally:
        output = stop(process)
    assert "2 workers" in output
    assert output.count("Application shutdown complete") == 2, output  # each worker shut down its app
    assert not alive(workers)
