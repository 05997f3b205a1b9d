"""The live backend on Kafka: broadcaster's Broadcast over our own aiokafka consumer.

broadcaster ships a Kafka backend, but it drops every topic when any one is unsubscribed,
never reconnects and busy-waits for its assignment. This one:
- reads from the live edge per process: no consumer group, nothing committed; a topic's
  partitions are assigned by hand and positioned at the first record stamped at or after
  the topic's first subscription, so a subscriber that arrives while the consumer is
  still connecting misses nothing, and a new process sees only new messages;
- keeps one consumer for every topic of the process, adding and removing topics by
  reference count (a topic stays assigned while any subscription wants it);
- when the consumer fails, opens a new one after a backoff (doubling up to a cap) and
  resumes each partition after the last record it delivered;
- never busy-waits: it blocks in getmany with a timeout, or on "the topics changed" when
  it has nothing to read.
Channel names are namespaced exactly as BrokerBus names its topics."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from broadcaster import BroadcastBackend

from mybroker.events import Envelope
from mybroker.live_event import LiveEvent, TopicRefs

log = logging.getLogger("mybroker.live.kafka")


class KafkaLiveBackend(BroadcastBackend):
    def __init__(  # no super().__init__: it only raises
        self,
        bootstrap: str,
        *,
        namespace: str = "",
        client_id: str = "mybroker-live",
        poll_timeout: float = 0.5,
        metadata_retry: float = 1.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        max_records: int = 500,
        queue_size: int = 1000,
    ) -> None:
        self.bootstrap = bootstrap
        self.namespace = namespace
        self.client_id = client_id
        self.poll_timeout = poll_timeout
        self.metadata_retry = metadata_retry
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_records = max_records
        self.topics = TopicRefs()  # Kafka topic names (namespace included)
        self._since_ms: dict[str, int] = {}  # per topic: when its first subscription came
        self._next_offset: dict[TopicPartition, int] = {}  # per partition: after the last record delivered
        self._changed = asyncio.Event()
        # Bounded: a full queue stops the fetching (Broadcast's listener empties it at once).
        self._events: asyncio.Queue[LiveEvent] = asyncio.Queue(queue_size)
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._producer: AIOKafkaProducer | None = None
        self.consumer: AIOKafkaConsumer | None = None  # the current one, while connected
        self.sessions = 0  # consumers opened: 1, plus one per reconnection
        self.failures = 0  # consumers lost to an error

    # -- BroadcastBackend ---------------------------------------------------------------
    async def connect(self) -> None:
        """Starts the consumer loop; it connects (and reconnects) in the background."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="live:kafka")

    async def disconnect(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # Ask the loop to leave between polls so the consumer stops cleanly: cancelling
            # it inside aiokafka's fetch can leave consumer.stop() waiting forever.
            self._stopping = True
            self._changed.set()
            done, _ = await asyncio.wait({task}, timeout=self.poll_timeout + 5.0)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=5.0)
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("live consumer ended with %r", task.exception())
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
        while not self._events.empty():
            self._events.get_nowait()

    # subscribe and unsubscribe never await: Broadcast.subscribe checks "first subscriber?"
    # around this call, and a switch to another task in between would lose a subscriber.
    async def subscribe(self, channel: str) -> None:
        topic = self.namespace + channel
        if self.topics.add(topic):
            self._since_ms[topic] = int(time.time() * 1000)
            # A topic wanted again starts from now, not where it was left.
            self._next_offset = {tp: o for tp, o in self._next_offset.items() if tp.topic != topic}
            self._changed.set()

    async def unsubscribe(self, channel: str) -> None:
        topic = self.namespace + channel
        if self.topics.remove(topic):
            self._since_ms.pop(topic, None)
            self._changed.set()

    async def publish(self, channel: str, message: Any) -> None:
        """Produces an Envelope (or its JSON) to the channel's topic."""
        raw = message.to_bytes() if isinstance(message, Envelope) else (message.encode() if isinstance(message, str) else message)
        if self._producer is None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, client_id=self.client_id, acks="all", enable_idempotence=True)
            await producer.start()
            if self._producer is None:
                self._producer = producer
            else:  # another publish started one meanwhile
                await producer.stop()
        await self._producer.send_and_wait(self.namespace + channel, raw)

    async def next_published(self) -> LiveEvent:
        return await self._events.get()

    # -- the consumer loop --------------------------------------------------------------
    async def _run(self) -> None:
        from mybroker.outage_log import OutageLog

        outage = OutageLog(log, "live Kafka consumer")  # one line per outage, not per reconnect
        delay = self.backoff_initial
        while not self._stopping:
            opened = self.sessions
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the feed must outlive a broker outage
                self.failures += 1
                if self.sessions > opened:  # it had connected: start the backoff afresh
                    delay = self.backoff_initial
                    outage.recovered()  # the previous outage ended when it connected
                outage.failed(exc)
                log.debug("live consumer lost (%r); reconnecting in %gs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)

    async def _session(self) -> None:
        """One consumer from connection to failure (or cancellation)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",  # a position past retention: go to the live edge
        )
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id + "-admin")
        try:
            await consumer.start()
            await admin.start()
            self.consumer = consumer
            self.sessions += 1
            self._changed.set()  # a fresh consumer has no assignment yet
            loop = asyncio.get_running_loop()
            retry_at: float | None = None  # when to look again for wanted topics that do not exist yet
            while not self._stopping:
                if self._changed.is_set() or (retry_at is not None and loop.time() >= retry_at):
                    self._changed.clear()
                    missing = await self._assign(consumer, admin)
                    retry_at = loop.time() + self.metadata_retry if missing else None
                if self._stopping:
                    break
                if not consumer.assignment():
                    await self._wait_for_change(None if retry_at is None else max(0.0, retry_at - loop.time()))
                    continue
                batches = await consumer.getmany(timeout_ms=int(self.poll_timeout * 1000), max_records=self.max_records)
                for tp, records in batches.items():
                    await self._deliver(tp, records)
        finally:
            self.consumer = None
            for close in (consumer.stop, admin.close):
                try:
                    await close()
                except Exception:  # noqa: BLE001 - closing a client that never connected
                    pass

    async def _wait_for_change(self, timeout: float | None) -> None:
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass  # time to look for the missing topics again

    async def _deliver(self, tp: TopicPartition, records) -> None:
        channel = tp.topic[len(self.namespace):]
        for record in records:
            if tp.topic not in self.topics or tp not in self._next_offset:
                return  # released (or re-wanted from a new start) while this batch was fetched
            self._next_offset[tp] = record.offset + 1
            if record.value is not None:
                await self._events.put(LiveEvent(channel, record.value.decode("utf-8", errors="replace")))

    async def _assign(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> set[str]:
        """Assigns every partition of the wanted topics; returns the wanted topics that do
        not exist yet. Partitions read before keep their place; new ones start at the
        topic's first subscription."""
        wanted = sorted(self.topics.names())
        described = await admin.describe_topics(wanted) if wanted else []
        partitions = {
            d["topic"]: [p["partition"] for p in d["partitions"]]
            for d in described
            if d["error_code"] == 0 and d["partitions"] and d["topic"] in self.topics
        }
        tps = [TopicPartition(topic, p) for topic, ps in partitions.items() for p in sorted(ps)]
        consumer.assign(tps)  # replaces the assignment and forgets positions: seek them all
        self._next_offset = {tp: o for tp, o in self._next_offset.items() if tp.topic in partitions}
        fresh = [tp for tp in tps if tp not in self._next_offset]
        if fresh:
            # End offsets first: a record found by neither query was appended after the end
            # offsets were read, so it lies at or past them and is not skipped.
            ends = await consumer.end_offsets(fresh)
            now = int(time.time() * 1000)
            found = await consumer.offsets_for_times({tp: self._since_ms.get(tp.topic, now) for tp in fresh})
            for tp in fresh:
                self._next_offset[tp] = found[tp].offset if found.get(tp) is not None else ends[tp]
        for tp in tps:
            offset = self._next_offset.get(tp)
            if offset is not None:  # else re-wanted during the awaits above: the next round seeks it
                consumer.seek(tp, offset)
        return set(wanted) - set(partitions)
