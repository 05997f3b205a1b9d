"""The platform as docker-compose.yml runs it, every service its own process
(`mybroker serve NAME`), on the real engines, with fresh databases and a fresh channel
namespace per run so that runs never see each other's rows or messages; kill -9 and
restart of one process, RabbitMQ's restart, and the snapshot the invariants check.

Readiness is always a signal: /health answering 200 for an HTTP service, the "NAME
running" line b3-sim and ingest print once their bus is started, RabbitMQ's queues having
their consumers again."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import aiohttp
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from mybroker.settings import DEFAULT_PORTS, SERVICES, Settings
from tests.chaos import invariants as inv
from tests.conftest import free_ports

ROOT = Path(__file__).resolve().parents[2]
HTTP = (*SERVICES, "router")
# Start order, as compose's depends_on has it: the router composes from running subgraphs.
START_ORDER = ("identity", "wallet", "assets", "orders", "reports", "b3-sim", "ingest", "router")


class NotReady(AssertionError):
    pass


@dataclass
class Cluster:
    tmp: Path
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        base = Settings.from_env(env={k: v for k, v in os.environ.items() if k.startswith("MYBROKER_")}, infra="real")
        self.base = base
        self.namespace = f"chaos-{self.run}."
        self.ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS))))
        self.databases = {name: f"{base.mysql_url}/mybroker_chaos_{self.run}_{name}" for name in SERVICES}
        self.journal = make_url(base.postgres_url).set(database=f"mybroker_chaos_{self.run}_b3sim").render_as_string(hide_password=False)
        self.env = dict(os.environ)
        self.env.update(
            MYBROKER_INFRA="real",
            MYBROKER_HOST="127.0.0.1",
            MYBROKER_DATA_DIR=str(self.tmp / "data"),  # identity's signing key, kept across restarts
            MYBROKER_CHANNEL_NAMESPACE=self.namespace,
            MYBROKER_INTERNAL_SECRET=f"chaos-{self.run}",
            MYBROKER_B3SIM_DATABASE_URL=self.journal,
            MYBROKER_MONGODB_DATABASE=f"mybroker_chaos_{self.run}",  # ingest's quote history
            MYBROKER_LOG_LEVEL="WARNING",
            MYBROKER_TICK_INTERVAL="0.25",
            MYBROKER_DAY_ROLL="off",  # a run across 18:00 in Brasília keeps its DAY orders
            MYBROKER_MARKET_SEED="12",
            MYBROKER_FEES="on",  # the product's default: B3's fees (mybroker/fees.py)
            # An orphan reservation (orders killed between reserving and saving) is released
            # within seconds, not the default ~40 s: the run waits for it.
            MYBROKER_RESERVATION_GRACE_SECONDS="3",
            MYBROKER_RESERVATION_SWEEP_INTERVAL="1",
            MYBROKER_RECONCILE_INTERVAL="0",  # the test runs its own pass, at the end
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "b3-sim"), os.environ.get("PYTHONPATH", "")]),
        )
        for name, port in self.ports.items():
            self.env[f"MYBROKER_{name.upper()}_PORT"] = str(port)
        for name, url in self.databases.items():
            self.env[f"MYBROKER_{name.upper()}_DATABASE_URL"] = url
        self.settings = Settings.from_env(env=self.env)
        (self.tmp / "logs").mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- addresses

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def router_url(self) -> str:
        return self.url("router") + "/graphql"

    def log(self, name: str) -> Path:
        return self.tmp / "logs" / f"{name}.log"

    # ---------------------------------------------------------------- processes

    async def start_all(self) -> None:
        for name in START_ORDER:
            await self.start(name)

    async def start(self, name: str, timeout: float = 90.0) -> None:
        log = self.log(name)
        offset = log.stat().st_size if log.exists() else 0
        out = open(log, "ab")
        command = [sys.executable, "-m", "launch.cli", "serve", name]
        if name == "router":
            command += ["--host", "127.0.0.1"]
        self.processes[name] = subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        out.close()
        await self.until_ready(name, offset, timeout)

    async def until_ready(self, name: str, offset: int, timeout: float) -> None:
        process = self.processes[name]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if process.poll() is not None:
                    raise NotReady(f"{name} exited ({process.returncode}) while starting:\n{self.tail(name)}")
                if name in HTTP:
                    try:
                        async with http.get(self.url(name) + "/health") as response:
                            if response.status == 200:
                                return
                    except (TimeoutError, aiohttp.ClientError, OSError):
                        pass
                else:
                    with open(self.log(name), "rb") as file:
                        file.seek(offset)
                        if f"{name} running".encode() in file.read():
                            return
                if loop.time() > deadline:
                    raise NotReady(f"{name} not ready within {timeout}s:\n{self.tail(name)}")
                await asyncio.sleep(0.1)

    def kill(self, name: str) -> None:
        """kill -9: no shutdown code runs, nothing is flushed or acknowledged."""
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    async def crash_and_restart(self, name: str) -> None:
        began = time.monotonic()
        self.kill(name)
        await self.start(name)
        self.faults.append(f"kill -9 {name} (ready again in {time.monotonic() - began:.1f}s)")

    def stop(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in reversed(START_ORDER):
            self.stop(name)

    def tail(self, name: str, lines: int = 40) -> str:
        try:
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---------------------------------------------------------------- RabbitMQ

    async def restart_rabbitmq(self) -> None:
        """Stops and starts RabbitMQ alone through scripts/services.sh (which waits until it
        answers), then waits until b3-sim and orders consume their queues again."""
        began = time.monotonic()
        try:
            await _services("down", "rabbitmq")
        finally:
            await _services("up", "rabbitmq")  # whatever happened, the engine is left running
        await self.until_consumed(timeout=90.0)
        self.faults.append(f"restart rabbitmq (consumed again in {time.monotonic() - began:.1f}s)")

    def queues(self) -> list[str]:
        from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS

        return [self.namespace + EXCHANGE_ORDERS, self.namespace + EXECUTIONS]

    async def queue_state(self) -> dict[str, tuple[int, int]]:
        """(messages ready, consumers) per queue, by a passive declare."""
        import aio_pika

        connection = await aio_pika.connect(self.settings.rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            state = {}
            for name in self.queues():
                queue = await channel.declare_queue(name, passive=True)
                result = queue.declaration_result
                state[name] = (result.message_count, result.consumer_count)
            return state

    async def until_consumed(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: object = None
        while True:
            try:
                last = await self.queue_state()
                if all(consumers >= 1 for _ready, consumers in last.values()):
                    return
            except Exception as exc:  # noqa: BLE001 - RabbitMQ still coming back
                last = exc
            if loop.time() > deadline:
                raise NotReady(f"the queues have no consumers again within {timeout}s: {last!r}")
            await asyncio.sleep(0.2)

    # ---------------------------------------------------------------- the snapshot

    async def reconcile(self, wait: float = 15.0) -> dict:
        from mybroker.internal_http import InternalClient

        client = InternalClient(self.url("orders"), self.settings.internal_secret, timeout=wait + 30)
        try:
            return await client.call("POST", "/internal/reconcile", {"wait": wait})
        finally:
            await client.close()

    async def quiet(self) -> dict[str, int]:
        """What is still moving: unsent outbox rows (orders, b3-sim), messages ready in the
        queues, orders PENDING or waiting for B3's answer, open reservations of ended or
        unknown orders. All zero: quiet."""
        state = await self.queue_state()
        async with _engine(self.databases["orders"]) as orders_db, _engine(self.databases["wallet"]) as wallet_db, _engine(
            self.journal
        ) as journal_db:
            async with orders_db.connect() as c:
                unsent_orders = (await c.execute(text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"))).scalar()
                pending = (
                    await c.execute(text("SELECT COUNT(*) FROM orders WHERE status = 'PENDING' OR pending IS NOT NULL"))
                ).scalar()
                ended = {row[0] for row in await c.execute(text("SELECT id FROM orders WHERE status IN ('FILLED','CANCELLED','REJECTED','EXPIRED')"))}
                known = {row[0] for row in await c.execute(text("SELECT id FROM orders"))}
            async with wallet_db.connect() as c:
                held = [row[0] for row in await c.execute(text("SELECT order_id FROM reservations WHERE status = 'OPEN'"))]
            async with journal_db.connect() as c:
                unsent_b3 = (await c.execute(text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"))).scalar()
        return {
            "outbox_orders": unsent_orders,
            "outbox_b3": unsent_b3,
            "queued": sum(ready for ready, _ in state.values()),
            "pending": pending,
            "orphan_reservations": sum(1 for order_id in held if order_id in ended or order_id not in known),
        }

    async def until_quiet(self, timeout: float = 90.0) -> dict[str, int]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            state = await self.quiet()
            if not any(state.values()) or loop.time() > deadline:
                return state  # the invariants tell what did not settle
            await asyncio.sleep(0.25)

    async def snapshot(self, traders: list[inv.Trader], wallets: list[inv.WalletView]) -> inv.Snapshot:
        async with _engine(self.databases["orders"]) as orders_db, _engine(self.databases["wallet"]) as wallet_db:
            async with orders_db.connect() as c:
                executions: dict[str, list[str]] = {}
                for order_id, execution_id in await c.execute(text("SELECT order_id, id FROM executions")):
                    executions.setdefault(order_id, []).append(execution_id)
                orders = [
                    inv.BrokerOrder(
                        row.id, row.user_id, row.ticker, row.side, row.type, int(row.quantity),
                        None if row.limit_price is None else _centavos(row.limit_price),
                        row.status, row.pending, int(row.filled_quantity), tuple(executions.get(row.id, ())), row.reason,
                    )
                    for row in await c.execute(
                        text("SELECT id, user_id, ticker, side, type, quantity, limit_price, status, pending, filled_quantity, reason FROM orders")
                    )
                ]
            async with wallet_db.connect() as c:
                reservations = [
                    inv.Reservation(r.order_id, r.user_id, r.side, r.ticker, int(r.open_quantity), _centavos(r.blocked_amount), r.status == "OPEN")
                    for r in await c.execute(
                        text("SELECT order_id, user_id, side, ticker, open_quantity, blocked_amount, status FROM reservations")
                    )
                ]
                ledger = [
                    inv.LedgerEntry(r.user_id, r.type, _centavos(r.amount), r.order_id)
                    for r in await c.execute(
                        text(
                            "SELECT w.user_id, t.type, t.amount, t.order_id FROM wallet_transactions t "
                            "JOIN wallets w ON w.id = t.wallet_id"
                        )
                    )
                ]
                settled = [(r[0], r[1]) for r in await c.execute(text("SELECT execution_id, order_id FROM settled_fills"))]
        fills, received, resting = await self.exchange_state([order.id for order in orders], {o.id: o.ticker for o in orders})
        return inv.Snapshot(
            traders=traders,
            orders=orders,
            exchange_fills=fills,
            exchange_orders=received,
            resting=resting,
            reservations=reservations,
            ledger=ledger,
            settled_fills=settled,
            wallets=wallets,
            fees=self.settings.fee_schedule(),
        )

    async def exchange_state(self, order_ids: list[str], tickers: dict[str, str]):
        """B3's side: its fills from the journal, every order it received, and which rest
        in its books, by rebuilding the books from the journal exactly as b3-sim does at
        start (b3sim.recovery), into a core of our own."""
        from b3sim.config import maker_policy_from_settings, rules_from_settings
        from b3sim.exchange import Exchange
        from b3sim.journal import Journal, metadata
        from b3sim.recovery import rebuild
        from mybroker.catalog import load_catalog
        from mybroker.db import Database

        db = Database(self.journal, metadata)
        try:
            journal = Journal(db)
            exchange = Exchange(
                load_catalog(), maker_policy_from_settings(self.settings), session=await journal.session(),
                rules=rules_from_settings(self.settings),
            )
            await rebuild(exchange, journal)
            from b3sim.journal import executions, journal_commands

            async with db.read() as session:
                fills = [
                    inv.ExchangeFill(r.execution_id, r.order_id, r.side, int(r.quantity), _money(r.price))
                    for r in await session.execute(select(executions))
                ]
                received: dict[str, str] = {}
                for payload in (await session.execute(select(journal_commands.c.payload).where(journal_commands.c.kind == "NewOrder"))).scalars():
                    payload = payload if isinstance(payload, dict) else __import__("json").loads(payload)
                    data = payload.get("data", payload)
                    received[str(data["orderId"])] = str(data["ticker"])
        finally:
            await db.dispose()
        maker_ids = {fill.order_id for fill in fills} - set(order_ids) - set(received)
        resting = {}
        for order_id, ticker in {**received, **tickers}.items():
            book = exchange.book(ticker)
            left = None if book is None else book.remaining(order_id)
            if left:
                resting[order_id] = left
        broker_fills = [fill for fill in fills if fill.order_id not in maker_ids]
        return broker_fills, set(received), resting

    # ---------------------------------------------------------------- cleanup

    async def drop(self) -> None:
        """Best effort: the run's databases, queues and topics."""
        from tests.conftest import drop_databases

        try:
            await drop_databases(self.settings.with_overrides(database_urls={**self.databases, "b3-sim": self.journal}))
        except Exception as exc:  # noqa: BLE001
            print(f"could not drop the chaos databases: {exc!r}")
        try:
            import aio_pika

            connection = await aio_pika.connect(self.settings.rabbitmq_url)
            async with connection:
                channel = await connection.channel()
                for queue in self.queues():
                    for name in (queue, queue + ".dlq"):
                        await channel.queue_delete(name)
        except Exception:  # noqa: BLE001
            pass


def _centavos(units) -> Decimal:
    """A money column read by plain SQL: FixedDecimal keeps an integer count of centavos."""
    return (Decimal(int(units)) * inv.CENT).quantize(inv.CENT)


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(inv.CENT)


class _engine:
    def __init__(self, url: str):
        self.engine = create_async_engine(url)

    async def __aenter__(self):
        return self.engine

    async def __aexit__(self, *exc) -> None:
        await self.engine.dispose()


async def _services(command: str, engine: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "bash", str(ROOT / "scripts" / "services.sh"), command, engine,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise AssertionError(f"services.sh {command} {engine} failed:\n{out.decode(errors='replace')}")
