"""`mybroker bench subscriptions`: many WebSocket subscribers on our router while quotes
are published at a fixed rate.

The platform runs in its own process (bench.subscriptions_host: embedded, or the
real engines with MYBROKER_INFRA=real) and publishes the quotes through its bus; our router
runs alone (`mybroker router --subgraph ...`) on its own CPU; this process opens the
clients (graphql-transport-ws at /graphql, aiohttp) on the other CPU. Every client
subscribes to the same ten tickers, so each published tick is due to every client.
Latency is from the quote's `time` (stamped when published, millisecond precision) to its
arrival at the client; drops are ticks due and never received. With `--gateways hive`
(or `ours,hive`) Hive Gateway takes the router's place on the same CPU, serving the
supergraph our composer makes of the platform's subgraphs, subscriptions towards them
over WebSocket (bench/gateways/hive-gateway.config.mjs). The last line is JSON."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from datetime import datetime
from pathlib import Path

import aiohttp
import orjson

from mybroker.settings import SERVICES
from bench.processes import BenchSetupError, Process, cpu_seconds, cpu_split, free_port, python_module

QUERY = "subscription Quotes($tickers: [ID!]!) { quotes(tickers: $tickers) { ticker price time } }"
WARMUP_RATE = 20


class Host:
    """The platform process, driven over its stdin/stdout (one JSON line each way)."""

    def __init__(self, cpus: set[int], log: Path):
        self._log = open(log, "wb")
        self.popen = subprocess.Popen(
            python_module("bench.subscriptions_host"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
            start_new_session=True,
        )
        self.log_path = log

    async def read(self, timeout: float) -> dict:
        line = await asyncio.wait_for(asyncio.to_thread(self.popen.stdout.readline), timeout)
        if not line:
            raise BenchSetupError(f"the platform process ended:\n{self.log_path.read_text(errors='replace')[-1500:]}")
        return orjson.loads(line)

    def send(self, command: dict) -> None:
        self.popen.stdin.write(orjson.dumps(command) + b"\n")
        self.popen.stdin.flush()

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                self.send({"stop": True})
                self.popen.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()


class Clients:
    """N graphql-transport-ws subscribers; counts and latencies of what they receive."""

    def __init__(self, url: str, tickers: list[str]):
        self.url = url
        self.tickers = tickers
        self.received = 0
        self.latencies = array("d")
        self.failures: list[str] = []
        self.connected = 0
        self.last_at = 0.0  # time.time() of the latest arrival
        self.since = 0.0  # ticks stamped before this (the warm-up's) are not counted
        self._times: dict[str, float] = {}  # a tick's time string, parsed once for all clients
        self._tasks: list[asyncio.Task] = []
        self._counts: list[int] = []

    def _epoch(self, text: str) -> float:
        moment = self._times.get(text)
        if moment is None:
            if len(self._times) > 100_000:
                self._times.clear()
            moment = self._times[text] = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        return moment

    async def open(self, session: aiohttp.ClientSession, count: int, concurrency: int = 100) -> None:
        gate = asyncio.Semaphore(concurrency)
        ready = [asyncio.get_running_loop().create_future() for _ in range(count)]
        self._counts = [0] * count
        for index in range(count):
            self._tasks.append(asyncio.create_task(self._client(session, index, gate, ready[index])))
        await asyncio.gather(*ready)

    async def _client(self, session: aiohttp.ClientSession, index: int, gate: asyncio.Semaphore, ready: asyncio.Future) -> None:
        try:
            async with gate:
                ws = await session.ws_connect(self.url, protocols=("graphql-transport-ws",), max_msg_size=0, heartbeat=None)
                await ws.send_str(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
                first = await ws.receive()
                if first.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    raise BenchSetupError(f"the router closed the socket: {first.type.name} {first.data} {first.extra or ''}")
                ack = orjson.loads(first.data)
                if ack.get("type") != "connection_ack":
                    raise BenchSetupError(f"no connection_ack: {ack}")
                await ws.send_str(orjson.dumps(
                    {"id": "1", "type": "subscribe", "payload": {"query": QUERY, "variables": {"tickers": self.tickers}}}
                ).decode())
            self.connected += 1
            ready.set_result(None)
        except Exception as error:  # noqa: BLE001 - counted and reported, never a trace
            self.failures.append(f"{type(error).__name__}: {error}")
            if not ready.done():
                ready.set_result(None)
            return
        clock, counts = time.time, self._counts
        async for message in ws:
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            payload = orjson.loads(message.data)
            kind = payload.get("type")
            if kind == "next":
                quote = ((payload.get("payload") or {}).get("data") or {}).get("quotes")
                stamped = self._epoch(quote["time"]) if quote else 0.0
                if quote and stamped >= self.since:
                    now = self.last_at = clock()
                    self.latencies.append((now - stamped) * 1000)
                    self.received += 1
                    counts[index] += 1
            elif kind == "ping":
                await ws.send_str('{"type":"pong"}')
            elif kind in ("error", "complete"):
                self.failures.append(f"subscription {kind}: {payload.get('payload')}")
                break

    def clients_with_messages(self) -> int:
        return sum(1 for count in self._counts if count)

    def reset(self, since: float) -> None:
        self.since = since
        self.received = 0
        self.latencies = array("d")
        self._counts = [0] * len(self._counts)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return round(values[min(len(values) - 1, int(len(values) * fraction))], 1)


async def _settle(clients: Clients, expected: int, timeout: float) -> None:
    """Until every due message arrived, or nothing arrived for a second, or `timeout`."""
    deadline = time.monotonic() + timeout
    last, quiet_since = -1, time.monotonic()
    while clients.received < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if clients.received != last:
            last, quiet_since = clients.received, time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return


def _gateway(name: str, ready: dict[str, str], port: int, cpus: set[int], work: Path) -> Process:
    """Our router composing from the platform's subgraphs, or Hive Gateway on the supergraph
    our composer makes of them, with WebSocket subscriptions towards the subgraphs."""
    if name == "ours":
        argv = python_module("launch.cli", "router", "--port", str(port))
        for service in SERVICES:
            argv += ["--subgraph", f"{service}={ready[service]}"]
        return Process("router-ours", argv, cpus)
    if name != "hive":
        raise BenchSetupError(f"unknown gateway {name!r} for subscriptions; choose ours or hive")
    from bench.router.compare import compose_supergraph, gateway_process

    supergraph = compose_supergraph({service: ready[service] for service in SERVICES}, work / "supergraph.graphql")
    process = gateway_process("hive", supergraph, port, cpus)
    process.argv += ["-c", str(process.cwd / "hive-gateway.config.mjs")]
    return process


async def run_subscriptions_bench(*, clients: int, rate: int, seconds: float, gateway: str = "ours") -> dict:
    router_cpus, other_cpus = cpu_split()
    work = Path(tempfile.mkdtemp(prefix="mybroker-bench-subs-"))
    host = Host(other_cpus, work / "platform.log")
    router = None
    try:
        ready = (await host.read(timeout=180))["ready"]
        port = free_port()
        router = (await asyncio.to_thread(_gateway, gateway, ready, port, router_cpus, work)).start(work)
        http_url = f"http://127.0.0.1:{port}/graphql"
        await asyncio.to_thread(router.wait_graphql, http_url, 120)
        os.sched_setaffinity(0, other_cpus)  # the clients stay off the router's CPU
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            async with session.post(http_url, json={"query": "{ assets { ticker } }"}) as response:
                tickers = [asset["ticker"] for asset in (await response.json())["data"]["assets"]][:10]
            subscribers = Clients(f"ws://127.0.0.1:{port}/graphql", tickers)
            started = time.monotonic()
            await subscribers.open(session, clients)
            connect_seconds = round(time.monotonic() - started, 2)
            # Warm-up: ticks until every client has seen one (the upstream is open, the path is hot).
            deadline = time.monotonic() + 60
            while subscribers.clients_with_messages() < subscribers.connected and time.monotonic() < deadline:
                host.send({"publish": WARMUP_RATE, "seconds": 1, "tickers": tickers})
                await host.read(timeout=60)
            await _settle(subscribers, 10**12, 2)
            warm = subscribers.clients_with_messages()
            router_cpu, host_cpu, client_cpu = router.cpu_seconds(), cpu_seconds(host.popen.pid), time.process_time()
            publish_started = time.time()
            subscribers.reset(since=publish_started - 0.001)  # `time` has millisecond precision
            host.send({"publish": rate, "seconds": seconds, "tickers": tickers})
            published = await host.read(timeout=seconds * 3 + 60)
            due = published["published"] * subscribers.connected
            await _settle(subscribers, due, timeout=30)
            router_cpu = router.cpu_seconds() - router_cpu
            host_cpu = cpu_seconds(host.popen.pid) - host_cpu
            client_cpu = time.process_time() - client_cpu
            window = max(subscribers.last_at, time.time() - 1.0) - publish_started  # _settle waited 1 s of quiet
            latencies = sorted(subscribers.latencies)
            result = {
                "clients": clients, "connected": subscribers.connected, "warm_clients": warm, "rate": rate,
                "seconds": seconds, "published": published["published"], "publish_seconds": published["seconds"],
                "due": due, "delivered": subscribers.received, "drops": due - subscribers.received,
                # Over the time from the first publish to the last arrival: a backlog drains after publishing ends.
                "delivered_per_sec": round(subscribers.received / max(subscribers.last_at - publish_started, 1e-9)),
                "p50_ms": _percentile(latencies, 0.50), "p99_ms": _percentile(latencies, 0.99),
                "max_ms": round(latencies[-1], 1) if latencies else None,
                "router_peak_rss_mb": router.peak_rss_mb(), "connect_seconds": connect_seconds,
                # Near 1.0 the router's one core is the limit; well below, the clients or the platform are.
                "router_cpu_busy": round(router_cpu / max(window, 1e-9), 2),
                "platform_cpu_busy": round(host_cpu / max(window, 1e-9), 2),
                "clients_cpu_busy": round(client_cpu / max(window, 1e-9), 2),
                "router_cpu_us_per_msg": round(1e6 * router_cpu / subscribers.received, 1) if subscribers.received else None,
                "failures": subscribers.failures[:5], "failure_count": len(subscribers.failures),
                "infra": os.environ.get("MYBROKER_INFRA", "embedded"), "gateway": gateway,
            }
            await subscribers.close()
            return result
    finally:
        if router is not None:
            router.stop()
        host.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(result: dict) -> str:
    lines = [
        f"subscriptions bench ({result['infra']}): {result['connected']}/{result['clients']} clients on {result['gateway']}, "
        f"{result['rate']} ticks/s for {result['seconds']}s over 10 tickers (connected in {result['connect_seconds']}s)",
        f"  published {result['published']} in {result['publish_seconds']}s; due {result['due']:,}, delivered "
        f"{result['delivered']:,} ({result['delivered_per_sec']:,} msg/s), drops {result['drops']:,}",
        f"  latency publish -> client: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms",
        f"  gateway peak RSS {result['router_peak_rss_mb']} MB; gateway CPU busy {result['router_cpu_busy']} of one core, "
        f"{result['router_cpu_us_per_msg']} us of gateway CPU per delivered message; platform process busy "
        f"{result['platform_cpu_busy']}, clients busy {result['clients_cpu_busy']}",
    ]
    if result["failure_count"]:
        lines.append(f"  {result['failure_count']} client failures, e.g. {result['failures'][0]}")
    keys = ("gateway", "clients", "connected", "rate", "seconds", "published", "delivered", "drops", "delivered_per_sec",
            "p50_ms", "p99_ms", "router_peak_rss_mb", "router_cpu_busy", "router_cpu_us_per_msg", "platform_cpu_busy", "clients_cpu_busy", "failure_count", "infra")
    return "\n".join(lines) + "\n" + json.dumps({key: result[key] for key in keys})


def subscriptions(ops: int | None = None, seed: int = 42, *, clients: int | None = None, rate: int | None = None,
                  seconds: float | None = None, gateways: str | None = None) -> str:
    """The printable report of `mybroker bench subscriptions`; its last line is JSON. `ops`
    and `seed` are the bench command's common flags and mean nothing here. `gateways`:
    "ours" (the default), "hive", or "ours,hive" (one after the other, each with a fresh
    platform)."""
    clients, rate, seconds = clients or 100, rate or 100, seconds or 10
    if clients < 1 or rate < 1 or seconds <= 0:
        return "subscriptions bench: --clients, --rate and --seconds must be positive\n" + json.dumps({"error": "bad arguments"})
    reports, summaries = [], {}
    for gateway in [g.strip() for g in (gateways or "ours").split(",") if g.strip()]:
        try:
            import uvloop

            result = uvloop.run(run_subscriptions_bench(clients=clients, rate=rate, seconds=seconds, gateway=gateway))
        except (TimeoutError, BenchSetupError, OSError) as error:
            message = str(error) or type(error).__name__
            return f"subscriptions bench could not run on {gateway}: {message}\n" + json.dumps({"error": message})
        text = report(result)
        reports.append(text.rsplit("\n", 1)[0])
        summaries[gateway] = json.loads(text.rsplit("\n", 1)[1])
    last = next(iter(summaries.values())) if len(summaries) == 1 else {"gateways": summaries}
    return "\n".join(reports) + "\n" + json.dumps(last)


if __name__ == "__main__":
    print(subscriptions(clients=int(sys.argv[1]) if len(sys.argv) > 1 else None))
