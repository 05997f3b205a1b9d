"""`mybroker up --infra real --apart`: every service in a process of its own, as compose
runs them. The platform answers through the router, a trader's sign-up and deposit cross
from identity's process to the wallet's over HTTP, and Ctrl-C stops every child."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from launch.apart import START_ORDER, ServicesApart
from tests.conftest import drop_databases, platform_settings

ROOT = Path(__file__).resolve().parents[2]
SIGN_UP = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"
DEPOSIT = "mutation($amount: Decimal!) { deposit(amount: $amount) { available } }"


def _environment(settings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYBROKER_")}
    env.update(
        MYBROKER_INFRA="real",
        MYBROKER_CHANNEL_NAMESPACE=settings.channel_namespace,
        MYBROKER_MONGODB_DATABASE=settings.mongodb_database,
        MYBROKER_B3SIM_DATABASE_URL=settings.database_urls["b3-sim"],
        MYBROKER_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "b3-sim")]),
    )
    env.update({f"MYBROKER_{name.upper()}_DATABASE_URL": url for name, url in settings.database_urls.items() if name != "b3-sim"})
    env.update({f"MYBROKER_{name.upper()}_PORT": str(port) for name, port in settings.ports.items()})
    return env


async def _ready(up: asyncio.subprocess.Process) -> list[str]:
    lines: list[str] = []
    assert up.stdout is not None
    async for raw in up.stdout:
        lines.append(raw.decode(errors="replace").rstrip())
        if "Press Ctrl-C to stop" in lines[-1]:
            return lines
    raise AssertionError("mybroker up --apart ended before it was up:\n" + "\n".join(lines))


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in found.split()]


async def test_every_service_runs_in_its_own_process_and_ctrl_c_stops_them_all(tmp_path):
    settings = platform_settings(tmp_path)
    up = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "launch.cli", "up", "--apart", "--data-dir", str(tmp_path / "data"),
        env=_environment(settings), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    children: list[int] = []
    try:
        lines = await asyncio.wait_for(_ready(up), 180)
        assert any("every service in a process of its own" in line for line in lines), lines
        children = _children(up.pid)
        assert len(children) == len(START_ORDER), f"{len(children)} children for {START_ORDER}"

        async with aiohttp.ClientSession() as http:
            async def call(query: str, variables: dict, token: str | None = None) -> dict:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                async with http.post(settings.graphql_url("router"), json={"query": query, "variables": variables}, headers=headers) as response:
                    body = await response.json(content_type=None)
                assert not body.get("errors"), body
                return body["data"]

            signed = await call(SIGN_UP, {"input": {"email": "apart@example.com", "password": "correct horse battery", "name": "Apart"}})
            token = signed["register"]["accessToken"]
            deposited = await call(DEPOSIT, {"amount": "1000.00"}, token)
            assert deposited["deposit"]["available"] == "1000.00"
    finally:
        if up.returncode is None:
            up.send_signal(signal.SIGINT)
            returncode = await asyncio.wait_for(up.wait(), 120)
        else:
            returncode = up.returncode
        await drop_databases(settings)
    assert returncode == 0
    still_running = [pid for pid in children if subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0]
    assert still_running == [], "every child stops with the platform"


def test_the_embedded_default_cannot_run_apart(tmp_path):
    from mybroker.settings import Settings

    embedded = Settings.from_env(env={}, data_dir=tmp_path)
    try:
        ServicesApart(embedded)
    except SystemExit as refused:
        assert "--apart needs --infra real" in str(refused)
    else:
        raise AssertionError("the embedded default was accepted apart")
