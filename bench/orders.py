"""`mybroker bench orders`: N traders at once through the router, as the trading screen does.

Unless `--url` points at a running router, the bench starts the platform itself in a child
process, `mybroker up` on free ports and a fresh data directory: the embedded default
(SQLite, in-memory bus and cache) or, with `--infra real`, `mybroker up --infra real` (all
services in that one process on the real engines, with fresh databases and a channel
namespace of its own). It waits for the "up" line and for the exchange to quote, then:

- each trader registers and logs in (identity), deposits (wallet), opens one
  `orderUpdates` subscription (graphql-transport-ws, as the screen when Live), and polls
  `me { orders wallet { available blocked positions } }` every `--watch-interval` seconds;
- it places its plan's orders one after another (bench/orders_model.py: MARKET and LIMIT
  BUYs, SELLs of what was delivered placed the moment the BUY reads done, a LIMIT BUY away
  from the market cancelled once it reads OPEN), following each by its updates;
- the moment an order reads done, its next request reads the wallet: `fill_to_wallet` is
  from the order first read done (update or poll) to the first wallet answer showing its
  fills; `stale_reads` counts those next reads that did not show them yet.

The last line is JSON (orders_per_s counts orders placed and then seen FILLED, CANCELLED,
REJECTED or OPEN, over the trading phase, registration excluded)."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import aiohttp
import orjson

from bench.orders_model import (
    SEEN,
    TERMINAL,
    Ledger,
    Measurements,
    Step,
    error_codes,
    is_refused_sell,
    limit_price,
    money_problems,
    order_plan,
    reflects,
    ticker_for,
)
from mybroker.settings import DEFAULT_PORTS, SERVICES, Settings
from mybroker.fees import FeeSchedule

DEPOSIT_AMOUNT = Decimal("200000.00")
ORDER_TIMEOUT = 120.0  # an order that never ends is an error, not a hang

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"
DEPOSIT = "mutation($amount: Decimal!) { deposit(amount: $amount) { available } }"
QUOTE = "query($t: ID!) { asset(ticker: $t) { quote { price } } }"
PLACE = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status filledQuantity } }"
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }"
ORDER = "query($id: ID!) { order(id: $id) { id status filledQuantity executions { quantity price } } }"
UPDATES = "subscription { orderUpdates { id status filledQuantity executions { quantity price } } }"
WALLET = "{ me { wallet { available blocked positions { asset { ticker } quantity blockedQuantity } } } }"
WATCH = """{ me { orders(first: 10) { id status filledQuantity }
  wallet { available blocked positions { asset { ticker } quantity blockedQuantity } } } }"""
EXCHANGE_READY = "{ %s }" % " ".join(f'{t}: asset(ticker: "{t}") {{ book {{ asks {{ price }} }} }}' for t in ("PETR4", "VALE3", "ITUB4", "BBDC4", "WEGE3"))


class BenchError(Exception):
    """The platform did not start or the bench could not run; the message says why."""


# ---------------------------------------------------------------- the platform


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PlatformProcess:
    """`mybroker up` in a child process on free ports; ready once it prints its URLs."""

    def __init__(self, infra: str, data_dir: Path, *, apart: bool = False):
        self.infra = infra
        self.ports = {name: _free_port() for name in DEFAULT_PORTS}
        env = {**os.environ, "MYBROKER_INFRA": infra}
        env.update({f"MYBROKER_{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        if infra == "real":
            real = Settings.from_env(infra="real")
            run = uuid.uuid4().hex[:8]
            env["MYBROKER_CHANNEL_NAMESPACE"] = f"bench-{run}."
            for name in SERVICES:
                env[f"MYBROKER_{name.upper()}_DATABASE_URL"] = f"{real.mysql_url}/mybroker_bench_{run}_{name}"
            env["MYBROKER_B3SIM_DATABASE_URL"] = real.postgres_url.rsplit("/", 1)[0] + f"/mybroker_bench_{run}_b3sim"
        self.log_path = data_dir / "platform.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "launch.cli", "up", "--data-dir", str(data_dir / "data"), *(["--apart"] if apart else [])],
            stdout=subprocess.PIPE, stderr=self._log, env=env, start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.ports['router']}/graphql"

    def wait_up(self, timeout: float = 180.0) -> None:
        """Until `mybroker up` prints "Press Ctrl-C to stop." (every server listens)."""
        done = threading.Event()
        lines: list[str] = []

        def read() -> None:
            for raw in self.popen.stdout:
                lines.append(raw.decode(errors="replace").rstrip())
                if "Press Ctrl-C to stop" in lines[-1]:
                    done.set()
                    return

        threading.Thread(target=read, daemon=True).start()
        if not done.wait(timeout):
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise BenchError(f"the platform did not come up in {timeout:.0f}s:\n" + "\n".join(lines[-10:]) + "\n" + tail)
        # Keep draining stdout so the child never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.popen.stdout], daemon=True).start()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()


@contextlib.contextmanager
def platform_to_measure(bench: str, url: str | None, infra: str = "embedded", *, apart: bool = False) -> Iterator[tuple[str, str]]:
    """(router URL, infra label) for a benchmark: `url` as given ("url"), or `mybroker up`
    on `infra` started here in a child process and stopped afterwards. Either way the
    exchange quotes before the measurement starts."""
    if url is not None:
        asyncio.run(until_the_exchange_quotes(url))
        yield url, "url"
        return
    with tempfile.TemporaryDirectory(prefix=f"mybroker-bench-{bench}-") as tmp:
        platform = PlatformProcess(infra, Path(tmp), apart=apart)
        try:
            started = time.monotonic()
            platform.wait_up()
            asyncio.run(until_the_exchange_quotes(platform.url))
            print(f"platform up ({infra}, mybroker up{' --apart' if apart else ''}) in {time.monotonic() - started:.1f}s at {platform.url}", flush=True)
            yield platform.url, infra
        finally:
            platform.stop()


async def until_the_exchange_quotes(url: str, timeout: float = 120.0) -> None:
    """The exchange has a book for every bench ticker (its market maker quoted them)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.post(url, json={"query": EXCHANGE_READY}) as response:
                data = (await response.json(content_type=None)).get("data") or {}
            if data and all((v or {}).get("book", {}).get("asks") for v in data.values()):
                return
            if time.monotonic() > deadline:
                raise BenchError(f"the exchange quoted nothing in {timeout:.0f}s: {data}")
            await asyncio.sleep(0.2)  # a readiness poll: the book fills at the feed's first ticks


# ---------------------------------------------------------------- one trader


@dataclass
class OrderState:
    status: str = "PENDING"
    first_seen: dict[str, float] = field(default_factory=dict)
    executions: list | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class Trader:
    def __init__(self, n: int, url: str, m: Measurements, fees: FeeSchedule, watch_interval: float):
        self.n = n
        self.url = url
        self.m = m
        self.ticker = ticker_for(n)
        self.ledger = Ledger(schedule=fees)
        self.watch_interval = watch_interval
        self.orders: dict[str, OrderState] = {}
        self.pending: list[tuple[Decimal, dict, float]] = []  # fills not yet seen in the wallet
        self.http: aiohttp.ClientSession | None = None
        self.token = ""
        self._tasks: list[asyncio.Task] = []

    async def post(self, query: str, variables: dict | None = None) -> dict | None:
        """The answer, or None after counting an HTTP or transport error."""
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.http.post(self.url, json={"query": query, "variables": variables or {}}, headers=headers) as response:
                body = await response.json(content_type=None)
                if response.status != 200 and not body.get("errors"):
                    self.m.error(f"HTTP {response.status}: {str(body)[:200]}")
                    return None
                return body
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            self.m.error(f"{type(error).__name__}: {error}")
            return None

    async def data(self, query: str, variables: dict | None = None) -> dict | None:
        """The answer's data, or None after counting its errors."""
        body = await self.post(query, variables)
        if body is None:
            return None
        if body.get("errors"):
            self.m.error(f"{error_codes(body)}: {body['errors'][0].get('message', '')}")
            return None
        return body.get("data")

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        email = f"bench-{self.n}-{uuid.uuid4().hex[:8]}@example.com"
        credentials = {"email": email, "password": "correct horse battery"}
        registered = await self.data(REGISTER, {"input": {**credentials, "name": f"Bench {self.n}"}})
        logged_in = registered and await self.data(LOGIN, {"input": credentials})
        if not logged_in:
            raise BenchError(f"trader {self.n} could not sign up")
        self.token = logged_in["login"]["accessToken"]
        if await self.data(DEPOSIT, {"amount": str(DEPOSIT_AMOUNT)}):
            self.ledger.deposit(DEPOSIT_AMOUNT)
        ready = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._updates(ready)))
        await asyncio.wait_for(ready.wait(), 30)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.close()

    # -------------------------------------------------- what the trader reads

    def saw(self, order: dict) -> None:
        state = self.orders.get(order["id"])
        if state is None:
            return  # an order this run did not place (or not yet registered: the answer will be)
        now = time.monotonic()
        if state.status not in TERMINAL:
            state.status = order["status"]
        state.first_seen.setdefault(order["status"], now)
        if order.get("executions") is not None and order["status"] in TERMINAL:
            state.executions = order["executions"]
        state.changed.set()

    def saw_wallet(self, wallet: dict) -> None:
        """Resolves every pending fill this answer shows (a later state shows the earlier ones)."""
        now = time.monotonic()
        for i in range(len(self.pending) - 1, -1, -1):
            cash, positions, _since = self.pending[i]
            if reflects(cash, positions, wallet):
                for _c, _p, since in self.pending[: i + 1]:
                    self.m.fill_to_wallet.append(now - since)
                del self.pending[: i + 1]
                return

    async def _updates(self, ready: asyncio.Event) -> None:
        ws_url = self.url.replace("http://", "ws://", 1)
        try:
            async with self.http.ws_connect(ws_url, protocols=("graphql-transport-ws",), heartbeat=None) as ws:
                await ws.send_str(orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}).decode())
                ack = orjson.loads((await ws.receive(timeout=30)).data)
                if ack.get("type") != "connection_ack":
                    raise BenchError(f"orderUpdates refused: {ack}")
                await ws.send_str(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": UPDATES}}).decode())
                ready.set()
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    frame = orjson.loads(message.data)
                    if frame["type"] == "ping":
                        await ws.send_str('{"type":"pong"}')
                    elif frame["type"] == "next":
                        payload = frame["payload"]
                        if payload.get("errors"):
                            self.m.error(f"orderUpdates: {error_codes(payload)}")
                        if (payload.get("data") or {}).get("orderUpdates"):
                            self.saw(payload["data"]["orderUpdates"])
                    elif frame["type"] in ("error", "complete"):
                        self.m.error(f"orderUpdates ended: {frame}")
                        return
        except asyncio.CancelledError:
            raise
        except (TimeoutError, aiohttp.ClientError, BenchError) as error:
            self.m.error(f"orderUpdates: {type(error).__name__}: {error}")
            ready.set()

    async def watch(self) -> None:
        """The screen's poll: orders and wallet every watch_interval seconds."""
        while True:
            await asyncio.sleep(self.watch_interval)  # the polling period itself, as the screen's timer
            data = await self.data(WATCH)
            if data and data.get("me"):
                for order in data["me"]["orders"]:
                    self.saw(order)
                self.saw_wallet(data["me"]["wallet"])

    # -------------------------------------------------- what the trader does

    async def until(self, state: OrderState, statuses: frozenset[str]) -> bool:
        deadline = time.monotonic() + ORDER_TIMEOUT
        while state.status not in statuses:
            state.changed.clear()
            try:
                await asyncio.wait_for(state.changed.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                self.m.error(f"order stuck {state.status} for {ORDER_TIMEOUT:.0f}s")
                return False
        return True

    async def run(self, steps: list[Step]) -> None:
        self._tasks.append(asyncio.create_task(self.watch()))
        for step in steps:
            await self.one(step)

    async def one(self, step: Step) -> None:
        quantity = 100
        if step.sells_delivered:
            quantity = self.ledger.positions().get(self.ticker, 0)
            if quantity <= 0:
                self.m.skipped_sells += 1
                return
        order = {"ticker": self.ticker, "side": step.side, "type": step.order_type, "quantity": quantity}
        if step.order_type == "LIMIT":
            quote = await self.data(QUOTE, {"t": self.ticker})
            if not quote or not quote["asset"]["quote"]:
                return
            order["limitPrice"] = str(limit_price(step, Decimal(quote["asset"]["quote"]["price"])))
        started = time.monotonic()
        body = await self.post(PLACE, {"input": order})
        if body is None:
            return
        if body.get("errors"):
            if is_refused_sell(step.side, body):
                self.m.refused_sells += 1
            else:
                self.m.error(f"placeOrder {step.value}: {error_codes(body)}: {body['errors'][0].get('message', '')}")
            return
        answered = time.monotonic()
        self.m.place_latencies.append(answered - started)
        self.m.placed += 1
        placed = body["data"]["placeOrder"]
        state = self.orders.setdefault(placed["id"], OrderState())
        self.saw(placed)
        if step.rests:
            if not await self.until(state, frozenset({"OPEN"}) | TERMINAL):
                return
            if state.status not in TERMINAL:
                answer = await self.post(CANCEL, {"id": placed["id"]})
                if answer is not None and answer.get("errors"):
                    self.m.error(f"cancelOrder: {error_codes(answer)}")
        if not await self.until(state, TERMINAL):
            return
        done_at = min(state.first_seen[s] for s in state.first_seen if s in TERMINAL)
        if SEEN & set(state.first_seen):
            self.m.seen += 1
        if not step.rests:  # a resting order's end waits for the trader's cancel
            self.m.place_to_done.append(done_at - answered)
        self.m.statuses[state.status] = self.m.statuses.get(state.status, 0) + 1
        executions = state.executions
        if executions is None:  # first read done by the poll, which does not ask for executions
            read = await self.data(ORDER, {"id": placed["id"]})
            executions = read["order"]["executions"] if read and read.get("order") else []
        self.ledger.add_executions(step.side, self.ticker, executions)
        if executions:
            self.pending.append((self.ledger.cash(), self.ledger.positions(), done_at))
        # The very next request: does the wallet already show what the order did?
        data = await self.data(WALLET)
        if data and data.get("me"):
            wallet = data["me"]["wallet"]
            fresh = reflects(self.ledger.cash(), self.ledger.positions(), wallet) and Decimal(wallet["blocked"]) == 0
            if not fresh:
                self.m.stale_reads += 1
            self.saw_wallet(wallet)

    async def final_check(self) -> list[str]:
        data = await self.data(WALLET)
        if not data or not data.get("me"):
            return [f"trader {self.n}: the wallet could not be read"]
        wallet = data["me"]["wallet"]
        self.saw_wallet(wallet)
        self.m.unreflected += len(self.pending)
        return [f"trader {self.n}: {problem}" for problem in money_problems(self.ledger, wallet)]


# ---------------------------------------------------------------- the run


async def _progress(m: Measurements, started: float, total: int) -> None:
    while True:
        await asyncio.sleep(2)  # a progress line every two seconds
        print(f"  {time.monotonic() - started:6.1f}s  placed {m.placed}/{total}  done {m.seen}  "
              f"refused sells {m.refused_sells}  errors {m.errors}", flush=True)


async def run_traders(url: str, traders: int, orders_per_trader: int, watch_interval: float, fees: FeeSchedule) -> dict:
    m = Measurements()
    crowd = [Trader(n, url, m, fees, watch_interval) for n in range(traders)]
    signing_up = time.monotonic()
    await asyncio.gather(*(trader.start() for trader in crowd))
    print(f"{traders} traders signed up, deposited and subscribed in {time.monotonic() - signing_up:.1f}s; trading...", flush=True)
    steps = order_plan(orders_per_trader)
    started = time.monotonic()
    progress = asyncio.create_task(_progress(m, started, traders * len(steps)))
    try:
        await asyncio.gather(*(trader.run(steps) for trader in crowd))
    finally:
        progress.cancel()
    seconds = time.monotonic() - started
    problems = [problem for trader in crowd for problem in await trader.final_check()]
    for trader in crowd:
        await trader.stop()
    for problem in problems[:20]:
        print(f"  money: {problem}", flush=True)
    for sample in m.error_samples:
        print(f"  error: {sample}", flush=True)
    return m.summary(traders=traders, seconds=seconds, money_ok=not problems)


def orders(
    ops: int | None = None,
    seed: int = 42,
    traders: int | None = None,
    orders_per_trader: int | None = None,
    watch_interval: float | None = None,
    infra: str | None = None,
    apart: bool | None = None,
    url: str | None = None,
) -> str:
    """`mybroker bench orders`; returns the JSON line (progress is printed as it goes)."""
    del seed  # the plan is the same for every run; the market's walk is the platform's
    traders = 20 if traders is None else traders
    per_trader = (ops if ops is not None else 10) if orders_per_trader is None else orders_per_trader
    interval = 1.0 if watch_interval is None else watch_interval
    if traders < 1 or per_trader < 0 or interval <= 0:
        raise SystemExit("bench orders: --traders must be 1 or more, --orders-per-trader 0 or more, --watch-interval above 0")
    # The platform's costs, from the same settings it reads (fees on by default).
    fees = Settings.from_env().fee_schedule()
    if apart and infra != "real":
        raise SystemExit("bench orders: --apart needs --infra real (the embedded bus and cache live in one process)")
    with platform_to_measure("orders", url, infra or "embedded", apart=bool(apart)) as (url, measured_on):
        summary = asyncio.run(run_traders(url, traders, per_trader, interval, fees))
    summary["infra"] = measured_on + (" apart" if apart and measured_on != "url" else "")
    summary["watch_interval"] = interval
    return orjson.dumps(summary).decode()
