"""`mybroker bench abuse` end to end on the embedded default, short: one second of the
60-alias attack at 5 a second, the same text and then new texts. It starts its own platform in a child process and must end
with its JSON line: every attack refused, every quote answered, no errors. Timings are the
benchmark's output, not asserted here."""
from __future__ import annotations

import pytest

from tests.bench.support import run_bench

pytestmark = pytest.mark.e2e


def test_one_second_of_attack_is_all_refused():
    report = run_bench("abuse", "--seconds", "1", "--rate", "5")
    assert report["attacks_sent"] == 5 and report["refused"] == 5, report
    assert report["attack_cost"] > report["max_cost_anonymous"] > 0, report
    assert report["errors"] == 0 and report["quotes_during_attack"] > 0, report
    varied = report["varied"]
    assert varied["attacks_sent"] == 5 and varied["refused"] == 5 and varied["errors"] == 0, report
    for phase in (report, varied):
        for key in ("refusal_ms_p50", "refusal_ms_p99", "quote_ms_p50", "quote_ms_p99", "quote_ms_max"):
            assert phase[key] is not None
