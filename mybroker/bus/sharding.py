"""Sharding the exchange by ticker: which of `shards` b3-sim processes owns a key.

A stable hash (CRC-32 of the ticker's UTF-8 bytes, modulo the shard count; shards are
numbered from 1), the same in every process and every Python version (the builtin hash
of a str is salted per process). Publishers route `b3.orders` by it; each b3-sim process
consumes its own queue and loads only its tickers' books. A fractional-market ticker
(PETR4F) hashes as its round-lot ticker (PETR4): both books follow the same quotes, so
they live in the same shard."""
from __future__ import annotations

import zlib


def shard_of(key: str, shards: int) -> int:
    if shards < 1:
        raise ValueError(f"shard count must be at least 1, not {shards}")
    if key.endswith("F") and key[-2:-1].isdigit():
        key = key[:-1]
    return zlib.crc32(key.encode("utf-8")) % shards + 1


def shard_queue(channel: str, shard: int, shards: int) -> str:
    """The queue of one shard: the channel itself when there is a single shard."""
    if shards == 1:
        return channel
    if not 1 <= shard <= shards:
        raise ValueError(f"shard {shard} is not between 1 and {shards}")
    return f"{channel}.shard-{shard}-of-{shards}"


def parse_shard(text: str) -> tuple[int, int]:
    """'2/3' -> (2, 3); '1' -> (1, 1)."""
    index, _, count = text.strip().partition("/")
    try:
        shard, shards = int(index), int(count or 1)
    except ValueError:
        raise ValueError(f"MYBROKER_B3SIM_SHARD must look like 1/2, not {text!r}") from None
    if shards < 1 or not 1 <= shard <= shards:
        raise ValueError(f"MYBROKER_B3SIM_SHARD {text!r}: the shard must be between 1 and the count")
    return shard, shards
