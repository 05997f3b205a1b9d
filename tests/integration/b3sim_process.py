"""b3-sim as a separate process on the real engines, for the recovery and shard tests:
`mybroker serve b3-sim` with its own channel namespace and journal database, and a
RabbitMQ client that sends orders and collects execution reports as the orders service
would."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from mybroker.events import EXCHANGE_BOOKS, EXCHANGE_TRADES, MARKET_DATA, NEW_ORDER, Envelope
from mybroker.settings import Settings


def limit(order_id: str, ticker: str, side: str, price: str, quantity: int = 100) -> Envelope:
    return Envelope(
        NEW_ORDER,
        {"orderId": order_id, "ticker": ticker, "side": side, "type": "LIMIT", "timeInForce": "DAY", "quantity": quantity, "limitPrice": price, "protectionPrice": None},
    )


@dataclass
class Exchange:
    """One test's b3-sim deployment: names, databases, processes."""

    settings: Settings
    namespace: str = field(default_factory=lambda: f"it-{uuid.uuid4().hex[:8]}.")
    journal: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)
    shards: int = 1  # the most shards any started process was one of: what close() drops

    def __post_init__(self) -> None:
        name = f"mybroker_it_{uuid.uuid4().hex[:8]}"
        self.journal = make_url(self.settings.postgres_url).set(database=name).render_as_string(hide_password=False)

    def env(self, shard: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            MYBROKER_INFRA="real",
            MYBROKER_CHANNEL_NAMESPACE=self.namespace,
            MYBROKER_B3SIM_DATABASE_URL=self.journal,
            MYBROKER_INTERNAL_SECRET="it-secret",
            MYBROKER_LOG_LEVEL="WARNING",
            MYBROKER_DAY_ROLL="off",  # the tests count what the journal holds
        )
        if shard:
            env["MYBROKER_B3SIM_SHARD"] = shard
        return env

    async def start(self, shard: str | None = None, timeout: float = 60.0) -> subprocess.Popen:
        """Starts `mybroker serve b3-sim` (`shard`: "i/n", MYBROKER_B3SIM_SHARD) and waits
        until it runs."""
        if shard:
            self.shards = max(self.shards, int(shard.split("/")[1]))
        process = subprocess.Popen(
            [sys.executable, "-m", "launch.cli", "serve", "b3-sim"],
            env=self.env(shard),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = []
        while True:
            line = await asyncio.wait_for(loop.run_in_executor(None, process.stdout.readline), max(deadline - loop.time(), 0.1))
            seen.append(line)
            if "b3-sim running" in line:
                # Keep draining its output, so a chatty process never blocks on a full pipe.
                loop.run_in_executor(None, lambda: [None for _ in process.stdout])
                return process
            if not line and process.poll() is not None:
                raise AssertionError("b3-sim exited during start:\n" + "".join(seen))

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """kill -9: no shutdown code runs, nothing is flushed."""
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    async def close(self) -> None:
        """Stops the processes, then drops every shard's journal database and channels."""
        shards = self.shards
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        await self._drop_databases(shards)
        await self._drop_channels(shards)

    def journal_urls(self, shards: int = 1) -> list[str]:
        from b3sim.sharding import Shard

        return [Shard(index, shards).journal_url(self.journal) for index in range(1, shards + 1)]

    async def _drop_databases(self, shards: int) -> None:
        """Best effort too: FORCE may be refused a backend it may not signal (another
        role's), and a leftover journal of a finished run harms no later test."""
        server = create_async_engine(make_url(self.journal).set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            for url in self.journal_urls(shards):
                name = make_url(url).database
                for attempt in range(5):
                    try:
                        async with server.connect() as connection:
                            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                        break
                    except Exception as exc:  # noqa: BLE001 - cleanup only
                        if attempt == 4:
                            print(f"could not drop {name}: {exc!r}")
                        await asyncio.sleep(1.0)
        finally:
            await server.dispose()

    async def _drop_channels(self, shards: int) -> None:
        """Best effort: a failed cleanup must not fail the test it follows."""
        import aio_pika
        from aiokafka.admin import AIOKafkaAdminClient

        from mybroker.bus.sharding import shard_queue
        from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS

        ns = self.namespace
        queues = [ns + shard_queue(EXCHANGE_ORDERS, i, shards) for i in range(1, shards + 1)] + [ns + EXECUTIONS]
        try:
            connection = await aio_pika.connect(self.settings.rabbitmq_url)
            async with connection:
                channel = await connection.channel()
                for queue in queues:
                    for name in (queue, queue + ".dlq"):
                        await channel.queue_delete(name)
        except Exception:  # noqa: BLE001
            pass
        try:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
            await admin.start()
            try:
                topics = [ns + t for t in (MARKET_DATA, EXCHANGE_TRADES, EXCHANGE_BOOKS)]
                existing = set(await admin.list_topics())
                await admin.delete_topics([t for t in topics + [t + ".dlq" for t in topics] if t in existing])
            finally:
                await admin.close()
        except Exception:  # noqa: BLE001
            pass
