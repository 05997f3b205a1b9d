"""`mybroker bench b3-rabbitmq` runs end to end on the real engines (a short run: the
numbers themselves are for docs/exchange-benchmark.md, not for assertions)."""
from __future__ import annotations

import asyncio
import json

from bench.b3_rabbitmq import b3_rabbitmq


async def test_the_rabbitmq_benchmark_reports_every_order():
    output = await asyncio.get_running_loop().run_in_executor(None, lambda: b3_rabbitmq(ops=20))
    result = json.loads(output.splitlines()[-1])
    assert result["orders"] == 20 and result["shards"] == 1
    assert result["orders_per_sec"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"] and 0 < result["fill_p50_ms"] <= result["fill_p99_ms"]
