"""End-to-end benchmark of the exchange on RabbitMQ: `mybroker bench b3-rabbitmq`.

Runs b3-sim as its own process (`mybroker serve b3-sim`, real infrastructure, a fresh
channel namespace and a fresh PostgreSQL journal database), then publishes N LIMIT
orders on `b3.orders` as the orders service does (persistent, publisher confirms, keyed
by ticker) and takes, per order, the time from the start of its publish to its first
execution report on `broker.executions` (ACCEPTED); for the orders that trade on arrival
(the BUYs), also to their FILL. Orders alternate SELL and BUY at one price per ticker over ten tickers, so
half of them trade: each journal transaction then holds the command, its fills, its
reports and its trade.

What a report's latency includes: publish and confirm, the RabbitMQ queue, b3-sim's
matching and its journal transaction on PostgreSQL, the outbox relay (publish and mark,
row by row) and the consumer side. orders/s is N over the time from the first publish
to the last order's last report. Publishing is open-loop with up to `window` publishes
in flight (or paced at `rate` orders/s). With `workers` n > 1, n b3-sim processes run as
shards (MYBROKER_B3SIM_SHARD=i/n) and each order goes to its ticker's shard queue. The
last line printed is JSON."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from statistics import quantiles

from mybroker.events import EXECUTIONS, Envelope
from mybroker.trading import ExecType, OrderSide, OrderType, TimeInForce
from mybroker.wire import ExecutionReport, NewOrder

TICKERS = ("PETR4", "VALE3", "ITUB4", "BBAS3", "BBDC4", "B3SA3", "ABEV3", "WEGE3", "ITSA4", "PRIO3")
DEFAULT_ORDERS = 2_000
WARMUP = 100


def b3_rabbitmq(ops: int | None = None, seed: int = 42, rate: float | None = None, workers: int | None = None, window: int = 64) -> str:
    """`workers`: b3-sim shard processes (MYBROKER_B3SIM_SHARD=i/n), 1 by default."""
    return asyncio.run(_run(ops or DEFAULT_ORDERS, rate, window, workers or 1))


def _order(order_id: str, ticker: str, side: str) -> Envelope:
    return NewOrder(order_id, ticker, OrderSide(side), OrderType.LIMIT, TimeInForce.DAY, 100, Decimal("20.00")).envelope()


def _percentile(values: list[float], q: int) -> float:
    return quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


async def _run(count: int, rate: float | None, window: int, shards: int) -> str:
    from sqlalchemy.engine import make_url

    from b3sim.sharding import Shard
    from mybroker.bus.rabbitmq import RabbitBus
    from mybroker.bus.sharding import shard_of, shard_queue
    from mybroker.events import EXCHANGE_ORDERS
    from mybroker.settings import Settings

    settings = Settings.from_env(infra="real")
    namespace = f"bench-{uuid.uuid4().hex[:8]}."
    journal = make_url(settings.postgres_url).set(database=f"mybroker_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    env = dict(os.environ, MYBROKER_INFRA="real", MYBROKER_CHANNEL_NAMESPACE=namespace, MYBROKER_B3SIM_DATABASE_URL=journal,
               MYBROKER_INTERNAL_SECRET="bench", MYBROKER_LOG_LEVEL="WARNING")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "launch.cli", "serve", "b3-sim"],
            env=dict(env, MYBROKER_B3SIM_SHARD=f"{shard}/{shards}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for shard in range(1, shards + 1)
    ]
    orders_queues = {ticker: namespace + shard_queue(EXCHANGE_ORDERS, shard_of(ticker, shards), shards) for ticker in TICKERS}
    executions_queue = namespace + EXECUTIONS
    journals = [Shard(shard, shards).journal_url(journal) for shard in range(1, shards + 1)]
    bus = RabbitBus(settings.rabbitmq_url, queues=(*set(orders_queues.values()), executions_queue), prefetch=512)
    sent: dict[str, float] = {}
    first_report: dict[str, float] = {}
    filled: dict[str, float] = {}
    done = asyncio.Event()
    expected = {"reports": 0, "fills": 0}

    async def on_report(message: Envelope) -> None:
        now = time.perf_counter()
        report = ExecutionReport.of(message)
        first_report.setdefault(report.order_id, now)
        if report.exec_type is ExecType.FILL:
            filled.setdefault(report.order_id, now)
        if len(first_report) >= expected["reports"] and len(filled) >= expected["fills"]:
            done.set()

    try:
        await asyncio.gather(*(_wait_until_running(process) for process in processes))
        bus.subscribe(executions_queue, "orders", on_report)
        await bus.start()

        async def burst(orders: list[Envelope]) -> float:
            done.clear()
            expected["reports"] = len(first_report) + len(orders)
            expected["fills"] = len(filled) + len(orders)  # both sides of every pair trade
            slots = asyncio.Semaphore(window)
            started = time.perf_counter()

            async def publish(message: Envelope) -> None:
                async with slots:
                    sent[message.data["orderId"]] = time.perf_counter()
                    ticker = message.data["ticker"]
                    await bus.publish(orders_queues[ticker], message, key=ticker)

            tasks = []
            for i, message in enumerate(orders):
                if rate:
                    delay = started + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(publish(message)))
            await asyncio.gather(*tasks)
            await asyncio.wait_for(done.wait(), timeout=60 + len(orders) / 20)
            return started

        def pairs(prefix: str, n: int) -> list[Envelope]:
            return [_order(f"{prefix}{i}", TICKERS[(i // 2) % len(TICKERS)], "SELL" if i % 2 == 0 else "BUY") for i in range(n - n % 2)]

        await burst(pairs("w", WARMUP))
        measured = pairs("o", count)
        started = await burst(measured)
        ids = [m.data["orderId"] for m in measured]
        ended = max(max(first_report[i] for i in ids), max(filled[i] for i in ids))
        report_ms = [(first_report[i] - sent[i]) * 1000 for i in ids]
        # The BUYs are the aggressors: their fill comes with their own command, while a
        # SELL's waits for the next BUY of its ticker.
        fill_ms = [(filled[i] - sent[i]) * 1000 for i, m in zip(ids, measured) if m.data["side"] == "BUY"]
        result = {
            "orders": len(ids),
            "orders_per_sec": round(len(ids) / (ended - started), 1),
            "p50_ms": round(_percentile(report_ms, 50), 2),
            "p99_ms": round(_percentile(report_ms, 99), 2),
            "fill_p50_ms": round(_percentile(fill_ms, 50), 2),
            "fill_p99_ms": round(_percentile(fill_ms, 99), 2),
            "shards": shards,
            "window": window,
            "rate": rate,
        }
        spread = sorted(Counter(shard_of(t, shards) for t in TICKERS).items())
        lines = [
            f"b3-sim on RabbitMQ + PostgreSQL journal: {len(ids)} orders ({len(ids) // 2} trades) over {len(TICKERS)} tickers,"
            f" {shards} shard(s) (tickers per shard: {', '.join(f'{s}: {n}' for s, n in spread)})",
            f"  {result['orders_per_sec']} orders/s; publish -> first report p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms;"
            f" publish -> fill p50 {result['fill_p50_ms']} ms, p99 {result['fill_p99_ms']} ms",
            json.dumps(result),
        ]
        return "\n".join(lines)
    finally:
        await bus.stop()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        await _cleanup(settings, namespace, journals, [*set(orders_queues.values()), executions_queue])


async def _wait_until_running(process: subprocess.Popen, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = []
    while loop.time() < deadline:
        line = await loop.run_in_executor(None, process.stdout.readline)
        seen.append(line)
        if "b3-sim running" in line:
            loop.run_in_executor(None, lambda: [None for _ in process.stdout])  # keep the pipe drained
            return
        if not line and process.poll() is not None:
            break
    raise RuntimeError("b3-sim did not start:\n" + "".join(seen))


async def _cleanup(settings, namespace: str, journals: list[str], queues: list[str]) -> None:
    """Drops the bench's journal databases, queues and topics (best effort)."""
    import aio_pika
    from aiokafka.admin import AIOKafkaAdminClient
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from mybroker.events import EXCHANGE_BOOKS, EXCHANGE_TRADES, MARKET_DATA

    server = create_async_engine(make_url(journals[0]).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as connection:
            for journal in journals:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(journal).database}" WITH (FORCE)'))
    except Exception:  # noqa: BLE001
        pass
    finally:
        await server.dispose()
    try:
        connection = await aio_pika.connect(settings.rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            for queue in queues:
                for name in (queue, queue + ".dlq"):
                    await channel.queue_delete(name)
    except Exception:  # noqa: BLE001
        pass
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            topics = [namespace + t + suffix for t in (MARKET_DATA, EXCHANGE_TRADES, EXCHANGE_BOOKS) for suffix in ("", ".dlq")]
            await admin.delete_topics([t for t in topics if t in existing])
        finally:
            await admin.close()
    except Exception:  # noqa: BLE001
        pass
