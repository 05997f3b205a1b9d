"""`mybroker up --infra real --apart`: every service in a process of its own, as
docker-compose.yml runs them, so the platform uses every core of the machine.

On the real engines the bus (Kafka, RabbitMQ) and the cache (Redis) already live outside
the process, so nothing else changes: each child is `mybroker serve NAME` with this
process's environment, started in compose's dependency order (the router composes its
supergraph from the running subgraphs, so it comes last) and counted ready on the line
`serve` prints once its bus and server are up. Each child's output goes to
`DATA_DIR/logs/NAME.log`. The embedded default cannot run apart: its bus and cache are
in-memory, one process's."""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys

from launch.registry import WORKERS
from mybroker.settings import SERVICES, Settings

START_ORDER = (*SERVICES, *WORKERS, "router")
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def ready_line(name: str) -> bytes:
    """What `mybroker serve NAME` prints once it serves (launch/cli.py)."""
    return b"router on " if name == "router" else f"{name} running".encode()


class ServicesApart:
    def __init__(self, settings: Settings, *, production: bool = False):
        if settings.infra != "real":
            raise SystemExit("--apart needs --infra real: the embedded bus and cache live inside one process.")
        self.settings = settings
        self.production = production
        self.logs = settings.data_dir / "logs"
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self._pumps: list[asyncio.Task] = []
        self.env = {
            **os.environ,
            "MYBROKER_INFRA": "real",
            "MYBROKER_DATA_DIR": str(settings.data_dir),  # identity's signing key, shared by every start
            # Apart, internal calls go over HTTP and must prove they come from the platform.
            "MYBROKER_INTERNAL_SECRET": settings.internal_secret or secrets.token_urlsafe(32),
        }
        self.env.update({f"MYBROKER_{name.upper()}_PORT": str(port) for name, port in settings.ports.items()})

    async def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            for name in START_ORDER:
                await self._start(name)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, name: str) -> None:
        command = [sys.executable, "-m", "launch.cli", "serve", name, *(["--production"] if self.production else [])]
        child = await asyncio.create_subprocess_exec(
            *command, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches this process only; it stops the children in order
        )
        self.children[name] = child
        ready = asyncio.Event()
        self._pumps.append(asyncio.create_task(self._pump(name, child, ready), name=f"apart:{name}"))
        waiting = asyncio.create_task(ready.wait())
        exited = asyncio.create_task(child.wait())
        done, _ = await asyncio.wait({waiting, exited}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        exited.cancel()
        if waiting not in done:
            tail = self._tail(name)
            if exited in done:
                raise SystemExit(f"{name} exited ({child.returncode}) while starting; {self.logs / (name + '.log')}:\n{tail}")
            raise SystemExit(f"{name} was not ready within {READY_TIMEOUT:.0f}s; {self.logs / (name + '.log')}:\n{tail}")

    async def _pump(self, name: str, child: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
        """The child's output into its log file, watching for its ready line."""
        assert child.stdout is not None
        marker = ready_line(name)
        with open(self.logs / f"{name}.log", "ab") as log:
            async for line in child.stdout:
                log.write(line)
                log.flush()
                if not ready.is_set() and marker in line:
                    ready.set()

    async def stop(self) -> None:
        """The router first, then the rest in reverse start order, each given time to
        finish what it holds (SIGINT, as Ctrl-C), then killed."""
        for name in reversed(list(self.children)):
            child = self.children[name]
            if child.returncode is None:
                child.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(child.wait(), STOP_TIMEOUT)
                except TimeoutError:
                    child.kill()
                    await child.wait()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        self.children.clear()

    async def first_exit(self) -> str:
        """Waits until a child ends by itself and names it (the platform is then incomplete)."""
        waits = {asyncio.create_task(child.wait()): name for name, child in self.children.items()}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return waits[done.pop()]

    def _tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join((self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
