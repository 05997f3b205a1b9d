"""The message bus on Kafka (aiokafka): the market-data, order-event and wallet-event topics.

- One idempotent producer (acks=all); `publish` returns once the broker has the record.
- One consumer per (topic, group). A durable group reads from its committed offset
  (`earliest` the first time) and commits each record only after its handlers returned,
  so a handler's transaction is committed before Kafka forgets the record. Records come
  in fetched batches (`getmany`) and a batch's offsets are committed together once its
  records are handled (a prefix of each partition's, if the batch stopped midway): one
  commit round trip per batch, not per record.
- `concurrency` > 1 handles up to that many records of a batch at once, started in
  arrival order and round robin over the batch's partitions; with `per_key` one key's
  records (one partition's, in offset order) run one after the other. A consumer that
  handles one record at a time caps its throughput at one handler's round trips per
  record: the market-data consumers fell behind the feed that way, further every second.
- A record whose handlers keep failing is copied to `<topic>.dlq` with the error in its
  headers, then committed, so one poison record never stalls a partition.
- No live-edge consumers: live fan-out on Kafka is `mybroker.live_kafka`'s (one reader of
  the live edge per process, for every topic), so `from_live_edge` is refused here."""
from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from mybroker.bus.port import DLQ_SUFFIX, Handler, Outgoing, PublishIncomplete, confirmed_prefix
from mybroker.bus.retry import deliver
from mybroker.bus.sequencer import KeySequencer
from mybroker.outage_log import OutageLog
from mybroker.events import MARKET_DATA, ORDER_EVENTS, WALLET_EVENTS, Envelope

log = logging.getLogger("mybroker.bus.kafka")

TOPICS = (MARKET_DATA, ORDER_EVENTS, WALLET_EVENTS)
# Records per fetched batch for each record that may be in the handlers at once: enough
# to keep every slot busy, few enough that a stop's grace period covers a batch.
BATCH_PER_SLOT = 4
MIN_BATCH = 16


class KafkaBus:
    def __init__(
        self,
        bootstrap: str,
        *,
        topics: Iterable[str] = TOPICS,
        partitions: int = 3,
        replication_factor: int = 1,
        max_attempts: int = 5,
        retry_delay: float = 0.2,
        client_id: str = "mybroker",
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        stop_grace: float = 10.0,
    ):
        self.bootstrap = bootstrap
        self.topics = tuple(topics)
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.client_id = client_id
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.stop_grace = stop_grace
        self._workers: dict[tuple[str, str], _Worker] = {}
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._created: set[str] = set()
        self._lock = asyncio.Lock()
        self._running = False

    # -- MessageBus -------------------------------------------------------------------
    def subscribe(
        self,
        channel: str,
        group: str,
        handler: Handler,
        *,
        from_live_edge: bool = False,
        concurrency: int = 1,
        per_key: bool = False,
    ) -> None:
        if from_live_edge:
            raise ValueError("live fan-out on Kafka is mybroker.live_kafka's (KafkaLiveBackend), not the bus's")
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        worker = self._workers.get((channel, group))
        if worker is None:
            worker = self._workers[(channel, group)] = _Worker(self, channel, group)
            if self._running:  # already running: this consumer starts now, in the background
                worker.task = asyncio.create_task(worker.run(), name=f"kafka:{channel}:{group}")
        worker.handlers.append(handler)
        worker.concurrency = max(worker.concurrency, concurrency)
        if per_key and worker.sequencer is None:
            worker.sequencer = KeySequencer()

    async def publish(self, channel: str, message: Envelope, key: str | None = None) -> None:
        producer = await self._ensure_producer()
        await self.ensure_topics([channel])
        await producer.send_and_wait(channel, message.to_bytes(), key=key.encode() if key is not None else None)

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Appends every message to the producer's batches, then waits for the acks
        together: one round trip for the run instead of one per message. The producer is
        idempotent, so a partition keeps the run's order even with retries in flight."""
        producer = await self._ensure_producer()
        await self.ensure_topics(sorted({channel for channel, _message, _key in messages}))
        acks: list[asyncio.Future] = []
        failure: BaseException | None = None
        for channel, message, key in messages:
            try:
                acks.append(await producer.send(channel, message.to_bytes(), key=key.encode() if key is not None else None))
            except Exception as exc:  # noqa: BLE001 - reported below, after the ones sent
                failure = exc
                break
        results = await asyncio.gather(*acks, return_exceptions=True)
        confirmed = confirmed_prefix(results)
        if confirmed < len(messages):
            cause = failure if confirmed == len(results) else results[confirmed]
            raise PublishIncomplete(confirmed) from cause

    async def start(self) -> None:
        await self._ensure_producer()
        workers = list(self._workers.values())
        names = set(self.topics)
        for worker in workers:
            names.update((worker.topic, worker.topic + DLQ_SUFFIX))
        await self.ensure_topics(sorted(names))
        for worker in workers:  # fail loudly at start if a consumer cannot connect
            await worker.open()
        self._running = True
        for (channel, group), worker in self._workers.items():  # a late subscriber opens in run()
            if worker.task is None:
                worker.task = asyncio.create_task(worker.run(), name=f"kafka:{channel}:{group}")

    async def stop(self) -> None:
        """Consumers first (each finishes and commits the record in hand), then the producer."""
        self._running = False
        await asyncio.gather(*(worker.stop(self.stop_grace) for worker in self._workers.values()))
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    # -- helpers ----------------------------------------------------------------------
    async def ensure_topics(self, names: Iterable[str]) -> None:
        """Creates missing topics up front (partitions, RF): auto-creation on first use
        would race the first consumer and take the broker's default partition count."""
        missing = [name for name in names if name not in self._created]
        if not missing:
            return
        async with self._lock:
            missing = [name for name in missing if name not in self._created]
            if not missing:
                return
            if self._admin is None:
                admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id + "-admin")
                await _started(admin.start(), admin.close)
                self._admin = admin
            response = await self._admin.create_topics(
                [NewTopic(name, num_partitions=self.partitions, replication_factor=self.replication_factor) for name in missing]
            )
            for topic, code, *detail in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise for_code(code)(f"cannot create topic {topic}: {detail[0] if detail else ''}")
            self._created.update(missing)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        # Lazily, because outbox relays may start publishing before the bus is started.
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    producer = AIOKafkaProducer(
                        bootstrap_servers=self.bootstrap, client_id=self.client_id, enable_idempotence=True, acks="all"
                    )
                    await _started(producer.start(), producer.stop)
                    self._producer = producer
        return self._producer

    def _consumer(self, *topics: str, group: str) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )

    async def dead_letter(self, record: ConsumerRecord, group: str, error: Exception) -> None:
        """Copies a record to `<topic>.dlq`, retrying until Kafka takes it: the offset is
        committed only after this, so a poison record is parked, never dropped."""
        headers = list(record.headers or ()) + [
            ("x-error", repr(error)[:2000].encode()),
            ("x-original-topic", record.topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
            ("x-consumer-group", group.encode()),
        ]
        dlq = record.topic + DLQ_SUFFIX
        delay = self.retry_delay
        while True:
            try:
                await self.ensure_topics([dlq])
                producer = await self._ensure_producer()
                await producer.send_and_wait(dlq, record.value, key=record.key, headers=headers)
                return
            except Exception as exc:  # noqa: BLE001 - never skip the record: retry until parked
                log.warning("cannot dead-letter %s@%d/%d yet: %r", record.topic, record.partition, record.offset, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


async def _started(starting, close) -> None:
    """Awaits a client's start; on failure closes it, so a broker that is down at start
    leaves no half-open client (and no 'unclosed' warnings) behind."""
    try:
        await starting
    except BaseException:
        await close()
        raise


class _Worker:
    """One consumer and its loop: a fetched batch at a time, each record handled once its
    turn comes (in partition order, or per key with `sequencer`), the batch's offsets
    committed together after its records are handled."""

    def __init__(self, bus: KafkaBus, topic: str, group: str):
        self.bus = bus
        self.topic = topic
        self.group = group
        self.handlers: list[Handler] = []
        self.concurrency = 1
        self.sequencer: KeySequencer | None = None  # per_key: one key's records one at a time
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task | None = None
        self.busy = False
        self.stopping = False

    async def open(self) -> None:
        bus = self.bus
        await bus.ensure_topics([self.topic, self.topic + DLQ_SUFFIX])
        consumer = bus._consumer(self.topic, group=self.group)
        await _started(consumer.start(), consumer.stop)
        self.consumer = consumer

    async def run(self) -> None:
        # One line per outage, not per retry (mybroker/outage_log.py).
        outage = OutageLog(log, f"Kafka consumer {self.topic}/{self.group}")
        while self.consumer is None:  # subscribed after start: connect in the background
            try:
                await self.open()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep trying, as aiokafka does once connected
                outage.failed(exc)
                await asyncio.sleep(1.0)
        outage.recovered()
        consumer = self.consumer
        batch_size = max(MIN_BATCH, BATCH_PER_SLOT * self.concurrency)
        try:
            while not self.stopping:
                try:
                    # A bounded wait, so a stop is seen between batches even when idle.
                    batch = await consumer.getmany(timeout_ms=1000, max_records=batch_size)
                except KafkaError as exc:
                    outage.failed(exc)
                    await asyncio.sleep(0.5)
                    continue
                outage.recovered()
                if not batch:
                    continue
                self.busy = True
                try:
                    await self._handle_batch(consumer, batch)
                finally:
                    self.busy = False
        finally:
            await consumer.stop()  # leaves the group at once: the next member takes over fast

    async def _handle_batch(self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Handles the batch's records (all of them unless stopping), then commits, per
        partition, the offset after the last record of its handled prefix."""
        handled: dict[TopicPartition, int] = {}
        if self.concurrency == 1 and self.sequencer is None:
            for partition, records in batch.items():
                for record in records:
                    if self.stopping:
                        break
                    await self._handle(record)
                    handled[partition] = record.offset + 1
        else:
            handled = await self._handle_concurrently(batch)
        await self._commit(consumer, handled)

    async def _handle_concurrently(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> dict[TopicPartition, int]:
        slots = asyncio.Semaphore(self.concurrency)
        started: dict[TopicPartition, list[tuple[ConsumerRecord, asyncio.Task]]] = {partition: [] for partition in batch}
        tasks: list[asyncio.Task] = []
        # Round robin over the partitions: one partition's backlog never holds the others'
        # records (each a ticker's, say) back until it is drained.
        in_turn = itertools.chain.from_iterable(
            itertools.zip_longest(*([(partition, record) for record in records] for partition, records in batch.items()))
        )
        try:
            for pair in in_turn:
                if pair is None:
                    continue
                if self.stopping:
                    break
                partition, record = pair
                await slots.acquire()
                # A task per record, created in arrival order: they start in that order.
                delivery = self._handle(record)
                if self.sequencer is not None:  # the key it was published with: one partition's, in order
                    delivery = self.sequencer.run(record.key, delivery)
                task = asyncio.create_task(delivery, name=f"kafka:{self.topic}[{record.partition}]@{record.offset}")
                task.add_done_callback(lambda _done: slots.release())
                started[partition].append((record, task))
                tasks.append(task)
            if tasks:
                await asyncio.wait(tasks)
        except asyncio.CancelledError:  # stopped past the grace period: what is not handled is redelivered
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        handled: dict[TopicPartition, int] = {}
        for partition, deliveries in started.items():
            for record, task in deliveries:
                if task.cancelled() or task.exception() is not None:
                    break  # _handle raises nothing but cancellation: the rest is redelivered
                handled[partition] = record.offset + 1
        return handled

    async def _handle(self, record: ConsumerRecord) -> None:
        where = f"{record.topic}[{record.partition}]@{record.offset}/{self.group}"
        try:
            message = Envelope.from_bytes(record.value)
        except Exception as exc:  # noqa: BLE001 - undecodable: retrying cannot help
            log.error("undecodable record %s: %r", where, exc)
            error: Exception | None = exc
        else:
            error = await deliver(
                self.handlers, message, where=where, max_attempts=self.bus.max_attempts, retry_delay=self.bus.retry_delay
            )
        if error is not None:
            await self.bus.dead_letter(record, self.group, error)

    async def _commit(self, consumer: AIOKafkaConsumer, handled: dict[TopicPartition, int]) -> None:
        if not handled:
            return
        try:
            await consumer.commit(handled)
        except Exception as exc:  # noqa: BLE001 - e.g. a rebalance took the partition: redelivered, handlers are idempotent
            log.warning("commit failed for %s/%s %s: %r", self.topic, self.group, sorted((p.partition, o) for p, o in handled.items()), exc)

    async def stop(self, grace: float) -> None:
        self.stopping = True
        task = self.task
        if task is None:
            if self.consumer is not None:
                await self.consumer.stop()
            return
        if self.busy:  # let the batch in hand finish and commit, within the grace period
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except (TimeoutError, Exception):  # noqa: BLE001
                pass
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
