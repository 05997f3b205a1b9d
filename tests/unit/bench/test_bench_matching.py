"""The matching benchmark runs small and ends with its JSON line; the CLI finds it by name."""
from __future__ import annotations

import json

from bench.matching import matching, run_matching
from launch import cli


def test_the_benchmark_reports_throughput_and_latency_as_its_last_line():
    last = matching(ops=3_000).splitlines()[-1]
    result = json.loads(last)
    assert list(result) == ["ops_per_sec", "p50_us", "p99_us"]
    assert result["ops_per_sec"] > 0 and 0 < result["p50_us"] <= result["p99_us"]


def test_the_same_seed_leaves_the_same_books():
    assert run_matching(5_000, seed=7)["resting"] == run_matching(5_000, seed=7)["resting"]


def test_mybroker_bench_matching(capsys):
    cli._bench(cli._parser().parse_args(["bench", "matching", "--ops", "2000"]))
    assert set(json.loads(capsys.readouterr().out.splitlines()[-1])) == {"ops_per_sec", "p50_us", "p99_us"}
