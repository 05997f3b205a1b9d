"""`mybroker bench orders` end to end on the embedded default, small: 2 traders x 2 orders
(a MARKET BUY and the SELL of what it delivered). It starts its own platform in a child
process and must end with its JSON line: nothing refused, no errors, the money right.
Numbers are not asserted (timings are the benchmark's output, not a test)."""
from __future__ import annotations

import pytest

from tests.bench.support import run_bench

pytestmark = pytest.mark.e2e


def test_two_traders_two_orders_end_to_end():
    report = run_bench("orders", "--traders", "2", "--orders-per-trader", "2")
    assert report["traders"] == 2 and report["orders"] == 4, report
    assert report["errors"] == 0 and report["refused_sells"] == 0 and report["money_ok"] is True, report
    assert report["statuses"] == {"FILLED": 4}
    for key in ("orders_per_s", "place_p50_ms", "place_p99_ms", "fill_to_wallet_p99_ms", "seconds"):
        assert report[key] is not None
