"""The embedded platform's router, in a process of its own.

The router talks to the subgraphs over HTTP and WebSockets only: it needs no bus, no cache
and no database, so nothing has to be shared with the services' process but their
addresses, the internal secret and the token issuer. In its own process it gets the
machine's second core and its own event loop; sharing the services' loop, it was a third
of the platform's CPU under load and held the simplest query to about 400 requests a
second (BENCHMARKS.md, "The embedded platform's processes").

The child is `mybroker serve router`, as a deployment runs it. It is ready when it prints
its "router on" line (uvicorn is then accepting connections); if it dies, the supervisor
starts it again, so `mybroker up` keeps serving."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from typing import Mapping

from mybroker.settings import SERVICES, Settings

log = logging.getLogger("mybroker.router_process")

READY_LINE = "router on "
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def router_environment(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the parent's (the router's edge options are MYBROKER_*
    variables, docs/router.md) plus everything the router needs that the parent may have
    decided itself rather than read from the environment (a generated secret, a data
    directory or ports given by a test)."""
    env = dict(base)
    env.update(
        MYBROKER_HOST=settings.host,
        MYBROKER_ROUTER_PORT=str(settings.port("router")),
        MYBROKER_INTERNAL_SECRET=settings.internal_secret,
        MYBROKER_JWKS_URL=settings.jwks(),
        MYBROKER_JWT_ISSUER=settings.jwt_issuer,
        MYBROKER_JWT_AUDIENCE=settings.jwt_audience,
        MYBROKER_DATA_DIR=str(settings.data_dir),
        MYBROKER_TRUSTED_PROXIES=",".join(settings.trusted_proxies),
    )
    if settings.production:  # `up --production` decides it by flag: the child reads MYBROKER_ENV
        env["MYBROKER_ENV"] = "production"
    for name in SERVICES:
        env[f"MYBROKER_{name.upper()}_URL"] = settings.url(name)
    return env


class RouterProcess:
    """Starts, supervises and stops the router child.

    A plain `subprocess.Popen` with its output read through the event loop, not asyncio's
    subprocess API, which on Python 3.11 depends on a child watcher that not every event
    loop policy provides. The child's output reaching its end is how its exit is noticed."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._process: subprocess.Popen | None = None
        self._output: asyncio.Task | None = None
        self._supervisor: asyncio.Task | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        self._stopping = False
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="router-process")

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # uvicorn's graceful shutdown
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._output is not None:
            await asyncio.gather(self._output, return_exceptions=True)
            self._output = None

    async def _spawn(self) -> None:
        settings = self.settings
        process = subprocess.Popen(
            [sys.executable, "-m", "launch.cli", "serve", "router", "--host", settings.host, "--port", str(settings.port("router"))],
            env=router_environment(settings, os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_exit_with_parent if sys.platform == "linux" else None,
        )
        self._process = process
        loop = asyncio.get_running_loop()
        lines = asyncio.StreamReader()
        transport, _protocol = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), process.stdout)
        output: list[str] = []
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while True:
                    raw = await lines.readline()
                    if not raw:  # its output ended: the child exited before it was ready
                        code = await asyncio.to_thread(process.wait)
                        tail = "".join(output[-20:])
                        raise RuntimeError(f"the router exited with code {code} while starting:\n{tail}")
                    line = raw.decode(errors="replace")
                    output.append(line)
                    if line.startswith(READY_LINE):
                        break
        except BaseException:
            transport.close()
            if process.poll() is None:
                process.kill()
                await asyncio.to_thread(process.wait)
            raise
        # From now on its output goes where the platform's goes, until it ends.
        self._output = asyncio.create_task(_relay(lines, transport), name="router-process-output")

    async def _supervise(self) -> None:
        while True:
            assert self._output is not None and self._process is not None
            await asyncio.shield(self._output)  # its output ends when the child exits
            code = await asyncio.to_thread(self._process.wait)
            if self._stopping:
                return
            log.error("the router process exited with code %s; starting it again", code)
            while True:
                try:
                    await self._spawn()
                    break
                except (RuntimeError, TimeoutError) as error:
                    log.error("the router did not start again: %s", error)
                    await asyncio.sleep(1.0)  # a pause between attempts, not a wait for readiness


def _exit_with_parent() -> None:
    """In the child, before it runs: the kernel sends it SIGTERM when the platform dies,
    even by kill -9, so no orphaned router keeps the port."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def _relay(lines: asyncio.StreamReader, transport: asyncio.BaseTransport) -> None:
    try:
        with contextlib.suppress(Exception):
            while raw := await lines.readline():
                sys.stdout.write(raw.decode(errors="replace"))
                sys.stdout.flush()
    finally:
        transport.close()
