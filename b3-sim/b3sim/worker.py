"""b3-sim's exchange worker: bus messages in, the matching core applied one at a time in
arrival order, the results journaled by group commit (one transaction for every command
handled while the previous batch committed), each message acknowledged only once its
command is committed. b3sim.app wires it to the bus; the class docstring has the rules."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime
from typing import Callable

from b3sim.exchange import (
    Command,
    Exchange,
    NewOrder,
    OrderStatusRequest,
    ReplaceOrder,
    RulesChanged,
    SessionPhase,
)
from b3sim.journal import Entry, Journal
from b3sim.market_sync import MarketSync
from b3sim.recovery import rebuild
from b3sim.tape import trades_of
from b3sim.wire import exchange_command, reference_price, rules_changed_envelope
from mybroker.events import EXCHANGE_ORDERS, Envelope, utcnow

# The service's logger: the worker's warnings are b3-sim's.
log = logging.getLogger("mybroker.b3sim")


class ExchangeWorker:
    """Feeds bus messages to the core one at a time, in arrival order, and journals the
    results by group commit.

    Orders and quotes arrive on two consumers, and up to b3sim.app.ORDERS_IN_FLIGHT orders at once
    (the `b3.orders` subscription's concurrency: deliveries start in arrival order). The
    core is applied under one asyncio.Lock, which is FIFO, so commands reach the core in
    arrival order; each result (an Entry: command, the core's time, reports) is appended
    to a pending batch in that same order, and the lock is released before the journal
    is written. A single committer task writes everything pending in ONE transaction
    (b3sim.journal.Journal.write_batch: inbox, command, fills, reports and trades of every
    entry, in order), then resolves each entry's future; a handler returns, and its
    message is acknowledged, only after its entry is committed. While one batch commits,
    the next accumulates: one commit serves many commands.

    If a batch commit fails, no message of it is acknowledged and the core is NOT rolled
    back or rebuilt: the committer takes the lock (nothing more reaches the core, the
    consumers stop as their in-flight slots fill) and retries the same batch, with backoff,
    until it commits. That is safe because the core holds exactly the journal plus the
    uncommitted entries, in order: the retry writes the same commands with the same times
    and the same report envelopes, the transaction is all or nothing, and the inbox makes
    a retry after a commit whose outcome was unknown write nothing twice. So the journal
    ends up holding exactly what the core applied, in the order it applied it, and a
    replay (b3sim.recovery) rebuilds the same books. If the process dies meanwhile, the
    unacknowledged messages are redelivered and the restart replays the journal, as after
    kill -9. (Rebuilding the core instead would have to re-apply the failed commands in
    the same order; crashing would take the embedded platform down with it.) A batch that
    can never commit stops the exchange, loudly, rather than drop or reorder a command.

    Quotes are the hot path (every tick of every ticker) and most change nothing a broker
    sees, so they skip the database. Replaying the journal still gives the same reports:
    a quote resets the maker's whole ladder, so what a later order meets depends only on
    the ticker's latest quote and the fills since, and both are journaled: a quote that
    filled orders at once, and a ticker's latest quote just before a command that reads
    it: a NewOrder or ReplaceOrder for the ticker or its fractional book (price band,
    MARKET reference, the maker's ladder), and a SessionPhase or RulesChanged, which read
    every book's reference (auction uncross, band sweep), after every latest quote.

    An OrderStatusRequest is answered like any command (its report in the outbox, in core
    order, its id in the inbox) but not journaled: it changes nothing, so a replay without
    it gives the same books.

    The rules (price band, self-trade prevention) are journaled too: at start, if the
    journal has none yet or the configured ones differ, a RulesChanged is handled and
    journaled before the bus starts. So a replay runs each stretch of the journal under the
    rules of its time, and what the new rules cancel (resting orders outside a narrower
    band) is reported once, through the outbox; the next restart replays that same
    RulesChanged, whose reports are dropped like every replayed one.
    Order commands are deduplicated by the journal's inbox (and, while their batch is not
    committed yet, by `_uncommitted`: a redelivery waits for the first delivery's commit);
    a journaled quote by the recent-ids set (a redelivered quote that was not journaled
    only re-quotes the maker)."""

    RECENT_QUOTES = 10_000
    GATHER_TURNS = 16  # at most this many turns of the loop spent gathering a batch (_gather)
    RETRY_DELAY = 0.05  # first wait before retrying a failed batch commit, doubled up to
    MAX_RETRY_DELAY = 5.0

    def __init__(
        self,
        exchange: Exchange | None,
        journal: Journal,
        clock: Callable[[], datetime] = utcnow,
        market: MarketSync | None = None,
    ):
        self.exchange = exchange  # None until recover() has rebuilt it from the journal
        self.journal = journal
        self.clock = clock
        self.market = market
        self._lock = asyncio.Lock()
        self._pending: list[tuple[Entry, asyncio.Future[None]]] = []  # applied, not yet being committed
        self._arriving = 0  # orders delivered and not yet applied: the next batch waits for them (_gather)
        self._uncommitted: dict[str, asyncio.Future[None]] = {}  # message id -> its entry's commit
        self._committer: asyncio.Task | None = None
        self._commits = 0  # batches committed so far
        self._committed: deque[tuple[int, set[str]]] = deque(maxlen=1_000)  # the latest batches' message ids
        self._latest_quotes: dict[str, Entry] = {}  # per ticker, handled but not journaled
        self._journaled_quotes: dict[str, None] = {}  # an insertion-ordered, bounded set

    async def recover(self, new_exchange: Callable[[str], Exchange]) -> int:
        """Builds the core for the journal's session and replays the journal into it;
        answers the number of commands replayed. Before the bus starts: nothing else runs."""
        exchange = new_exchange(await self.journal.session())
        configured = exchange.rules
        # The replay starts under the journal's first rules; its RulesChanged move them on.
        first = rules_changed_envelope(configured)
        first = Envelope(first.type, await self.journal.initial_rules(first.data), id=first.id)
        command = exchange_command(first)
        assert command is not None  # a RulesChanged
        exchange.handle(command, self.clock())  # empty books: nothing to report
        replayed = await rebuild(exchange, self.journal, recent_quotes=self.RECENT_QUOTES)
        self._journaled_quotes = dict.fromkeys(replayed.quote_ids)
        self.exchange = exchange
        if self.market is not None:
            self.market.traded(replayed.last_trades.values())
        journaled = exchange.rules
        if (journaled.price_band_percent, journaled.self_trade) != (configured.price_band_percent, configured.self_trade):
            message = rules_changed_envelope(configured)
            async with self._lock:
                rules = exchange_command(message)
                assert rules is not None  # a RulesChanged
                entry = self._handle(message, rules)
                committed = self._append(entry)
            await committed
            log.warning(
                "b3-sim rules changed since the last run (price band %s%% -> %s%%, self-trade %s -> %s): %d resting orders cancelled",
                journaled.price_band_percent, configured.price_band_percent,
                journaled.self_trade.value, configured.self_trade.value, len(entry.reports),
            )
        return replayed.commands

    async def on_exchange_order(self, message: Envelope) -> None:
        command = exchange_command(message)
        if command is None:
            log.warning("ignored %s message %s on %s", message.type, message.id, EXCHANGE_ORDERS)
            return
        # Nothing may suspend before the lock: the lock's FIFO is what keeps arrival order.
        # The inbox lookup starts now and runs while earlier commands take the lock.
        lookup = asyncio.create_task(self._seen(message.id))
        commits = self._commits
        self._arriving += 1
        try:
            async with self._lock:
                committed = self._uncommitted.get(message.id)  # a redelivery of a command in a batch
                if committed is None:
                    if await lookup or await self._committed_since(commits, message.id):
                        return  # a redelivery: the first delivery is journaled, its reports in the outbox
                    if self._latest_quotes:
                        self._journal_quotes_read_by(command)
                    committed = self._append(self._handle(message, command))
        finally:
            self._arriving -= 1
            lookup.cancel()  # unneeded (a batch holds the message) or the handler was cancelled
        await asyncio.shield(committed)  # shared with a redelivery: a cancelled handler must not cancel it

    async def on_market_data(self, message: Envelope) -> None:
        command = reference_price(message)
        if command is None or self.exchange.book(command.ticker) is None:
            return  # not a quote, or another shard's ticker
        async with self._lock:
            committed = self._uncommitted.get(message.id)
            if committed is None:
                if message.id in self._journaled_quotes:
                    return
                entry = self._handle(message, command)
                if not entry.reports:
                    self._latest_quotes[command.ticker] = entry
                    return
                self._latest_quotes.pop(command.ticker, None)
                committed = self._journal_quote(entry)
        await asyncio.shield(committed)

    async def stop(self, grace: float = 10.0) -> None:
        """Lets the pending batches commit (their handlers are acked), within `grace`."""
        committer = self._committer
        if committer is not None:
            try:
                await asyncio.wait_for(asyncio.shield(committer), grace)
            except (TimeoutError, Exception):  # noqa: BLE001 - unacked: redelivered, replayed
                committer.cancel()
                await asyncio.gather(committer, return_exceptions=True)

    async def _committed_since(self, commits: int, message_id: str) -> bool:
        """Whether a batch committed after the first `commits` journaled `message_id`: the
        inbox lookup began before them and may have missed it."""
        if commits == self._commits:
            return False
        if self._committed and self._committed[0][0] <= commits + 1:
            return any(message_id in ids for number, ids in self._committed if number > commits)
        return await self._seen(message_id)  # older than the history kept: ask again

    async def _seen(self, message_id: str) -> bool:
        """journal.seen, retried until it answers: a handler that failed here would be
        retried by the bus behind later deliveries, out of arrival order."""
        delay = self.RETRY_DELAY
        while True:
            try:
                return await self.journal.seen(message_id)
            except Exception as exc:  # noqa: BLE001
                log.error("journal lookup of %s failed: %r; retrying in %.2fs", message_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.MAX_RETRY_DELAY)

    def _journal_quotes_read_by(self, command: Command) -> None:
        """Journals, ahead of `command`, the latest unjournaled quotes it reads, so a replay
        hands it the same references and maker ladders (the class docstring)."""
        if isinstance(command, (NewOrder, ReplaceOrder)):
            ticker = command.ticker if isinstance(command, NewOrder) else self.exchange.order_ticker(command.order_id)
            latest = self._latest_quotes.pop(self.exchange.quoted_by(ticker), None) if ticker else None
            if latest is not None:
                self._journal_quote(latest)
        elif isinstance(command, (SessionPhase, RulesChanged)):
            for latest in self._latest_quotes.values():
                self._journal_quote(latest)
            self._latest_quotes.clear()

    def _handle(self, message: Envelope, command: Command) -> Entry:
        at = self.clock()  # journaled with the command: a replay gives the core the same time
        if isinstance(command, OrderStatusRequest):  # answered, not journaled: it changes nothing
            return Entry(message, at, self.exchange.handle(command, at), journaled=False)
        entry = Entry(message, at, self.exchange.handle(command, at))
        if self.market is not None:
            self.market.touch(getattr(command, "ticker", None), at)
        return entry

    def _journal_quote(self, entry: Entry) -> asyncio.Future[None]:
        self._journaled_quotes[entry.message.id] = None
        if len(self._journaled_quotes) > self.RECENT_QUOTES:
            del self._journaled_quotes[next(iter(self._journaled_quotes))]
        return self._append(entry)

    def _append(self, entry: Entry) -> asyncio.Future[None]:
        """Queues an applied entry for the next batch (under the lock: in core order)."""
        committed = asyncio.get_running_loop().create_future()
        self._pending.append((entry, committed))
        self._uncommitted[entry.message.id] = committed
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_pending(), name="b3-sim:group-commit")
        return committed

    async def _commit_pending(self) -> None:
        try:
            while self._pending:
                await self._gather()
                batch, self._pending = self._pending, []
                written, retried = await self._commit([entry for entry, _ in batch])
                self._commits += 1
                self._committed.append((self._commits, {entry.message.id for entry, _ in batch}))
                for (entry, committed), new in zip(batch, written):
                    if not new and entry.reports and not retried:
                        # Only a quote the recent-ids set forgot can get here: its new reports are lost.
                        log.error("%s %s was journaled already; %d new reports dropped", entry.message.type, entry.message.id, len(entry.reports))
                    elif entry.trades and self.market is not None:  # the tape is durable: show it
                        self.market.traded(trades_of(entry.reports))
                    del self._uncommitted[entry.message.id]
                    committed.set_result(None)
        finally:
            self._committer = None

    async def _gather(self) -> None:
        """Lets the orders already on their way to the core (delivered, queued for its
        lock) join the next batch, for at most GATHER_TURNS turns of the loop. On SQLite
        the commit runs inline (mybroker.db._InlineSqlite) and nothing else runs during
        it, so batches no longer fill while the previous one commits; without this every
        command would be its own commit. On a real database the commit's own I/O still
        lets the next batch accumulate."""
        for _ in range(self.GATHER_TURNS):
            if not self._arriving:
                return
            await asyncio.sleep(0)

    async def _commit(self, entries: list[Entry]) -> tuple[list[bool], bool]:
        """Per entry whether this commit wrote it, and whether it took retries (then an
        entry already journaled may be this batch's own first, failed-looking commit)."""
        try:
            return await self.journal.write_batch(entries), False
        except Exception:  # noqa: BLE001 - retried below, with the core held still
            log.exception("journal commit of %d commands failed; holding the exchange and retrying", len(entries))
        delay = self.RETRY_DELAY
        async with self._lock:  # nothing more reaches the core until this batch is journaled
            while True:
                await asyncio.sleep(delay)
                try:
                    written = await self.journal.write_batch(entries)
                except Exception as exc:  # noqa: BLE001
                    log.error("journal commit of %d commands failed again: %r; retrying in %.2fs", len(entries), exc, delay)
                    delay = min(delay * 2, self.MAX_RETRY_DELAY)
                    continue
                log.warning("journal commit of %d commands succeeded after retrying; the exchange goes on", len(entries))
                return written, True
