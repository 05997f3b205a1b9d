"""`mybroker bench orders` end to end on the embedded default, small: 2 traders x 2 orders
(a MARKET BUY and the SELL of what it delivered). It starts its own platform in a child
process and must end with its JSON line: nothing refused, no errors, the money right.
Numbers are not asserted (timings are the benchmark's output, not a test)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_two_traders_two_orders_end_to_end():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYBROKER_")}  # the embedded default
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "b3-sim"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "mybroker.cli", "bench", "orders", "--traders", "2", "--orders-per-trader", "2"],
        capture_output=True, text=True, timeout=110, env=env, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["traders"] == 2 and report["orders"] == 4, report
    assert report["errors"] == 0 and report["refused_sells"] == 0 and report["money_ok"] is True, done.stdout
    assert report["statuses"] == {"FILLED": 4}
    for key in ("orders_per_s", "place_p50_ms", "place_p99_ms", "fill_to_wallet_p99_ms", "seconds"):
        assert report[key] is not None
