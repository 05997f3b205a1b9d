"""Benchmark of the pure matching core: `mybroker bench matching`.

Drives the books directly (no exchange wrapper, no I/O, no clock) with a seeded,
realistic mix over 50 tickers: passive limit orders near the mid, cancels of orders
added earlier (some already filled: a cancel that crosses a fill is a no-op, as in real
flow), and marketable orders (limit IOC or DAY that cross, MARKET with protection).

The operations are generated ahead of the timed loop, in chunks, so the generator's
cost is not measured. Every operation's latency is taken with one perf_counter_ns call
per operation (the difference between consecutive stamps) into a preallocated array;
operations/s is the operation count over the timed loops' total time, so it includes
that one call per operation."""
from __future__ import annotations

import json
import random
import time
from array import array

import b3sim
from b3sim.book import Book, BookOrder, OrderType, Side, TimeInForce

TICKERS = 50
CHUNK = 100_000
# The mix, in percent: passive adds, cancels, marketable orders.
ADD, CANCEL = 42, 43  # the rest (15) cross


def _operations(rng: random.Random, count: int, mids: list[int], live: list[list[str]], seq: list[int]) -> list[tuple]:
    """`count` operations: ("s", book, BookOrder) or ("c", book, order_id)."""
    ops: list[tuple] = []
    append = ops.append
    buy, sell = Side.BUY, Side.SELL
    limit, market = OrderType.LIMIT, OrderType.MARKET
    day, ioc = TimeInForce.DAY, TimeInForce.IOC
    for _ in range(count):
        book = rng.randrange(TICKERS)
        mid = mids[book]
        roll = rng.randrange(100)
        if roll < CANCEL and live[book]:
            ids = live[book]
            i = rng.randrange(len(ids))
            ids[i], ids[-1] = ids[-1], ids[i]
            append(("c", book, ids.pop()))
            continue
        seq[0] += 1
        order_id = f"o{seq[0]}"
        quantity = 100 * rng.randint(1, 10)
        side = buy if rng.random() < 0.5 else sell
        if roll < CANCEL + ADD:
            offset = 1 + int(rng.expovariate(0.3))  # most near the touch, a tail deeper
            price = mid - offset if side is buy else mid + offset
            live[book].append(order_id)
            append(("s", book, BookOrder(order_id, side, limit, day, quantity, price)))
        else:
            reach = rng.randint(1, 5)
            bound = mid + reach if side is buy else mid - reach
            kind = rng.randrange(3)
            if kind == 0:
                append(("s", book, BookOrder(order_id, side, market, ioc, quantity, None, bound)))
            elif kind == 1:
                append(("s", book, BookOrder(order_id, side, limit, ioc, quantity, bound)))
            else:  # crosses, and what it cannot fill rests
                live[book].append(order_id)
                append(("s", book, BookOrder(order_id, side, limit, day, quantity, bound)))
    return ops


def run_matching(ops: int = 2_000_000, seed: int = 42) -> dict:
    rng = random.Random(seed)
    books = [Book(f"T{i:02d}") for i in range(TICKERS)]
    mids = [rng.randrange(1_000, 10_000) for _ in range(TICKERS)]
    live: list[list[str]] = [[] for _ in range(TICKERS)]
    seq = [0]
    latencies = array("q", bytes(8 * ops))
    submits = [book.submit for book in books]
    cancels = [book.cancel for book in books]
    clock = time.perf_counter_ns
    done = 0
    elapsed = 0
    while done < ops:
        chunk = _operations(rng, min(CHUNK, ops - done), mids, live, seq)
        i = done
        start = last = clock()
        for kind, book, arg in chunk:
            if kind == "s":
                submits[book](arg)
            else:
                cancels[book](arg)
            now = clock()
            latencies[i] = now - last
            last = now
            i += 1
        elapsed += last - start
        done = i
    ordered = sorted(latencies)
    return {
        "ops": ops,
        "ops_per_sec": round(ops / (elapsed / 1e9)),
        "p50_us": round(ordered[len(ordered) // 2] / 1000, 2),
        "p99_us": round(ordered[min(len(ordered) - 1, (len(ordered) * 99) // 100)] / 1000, 2),
        "resting": sum(len(book) for book in books),
    }


def matching(ops: int | None = None, seed: int = 42) -> str:
    """Runs the benchmark and returns its printable report; the last line is JSON."""
    result = run_matching(ops or 2_000_000, seed)
    summary = {k: result[k] for k in ("ops_per_sec", "p50_us", "p99_us")}
    return (
        f"matching: {result['ops']:,} operations over {TICKERS} books (seed {seed}), "
        f"{result['resting']:,} orders resting at the end, book built as {b3sim.BOOK_BUILD}\n"
        f"  {result['ops_per_sec']:,} ops/s   p50 {result['p50_us']} us   p99 {result['p99_us']} us\n"
        + json.dumps(summary)
    )
