"""OutageLog and RepeatFilter on an injected clock: lines per outage, not per retry."""
from __future__ import annotations

import logging

from mybroker.outage_log import OutageLog, RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_outage_one_summary_per_interval_and_one_on_recovery(caplog):
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.outage"), "Kafka consumer orders", interval=30, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        for _ in range(23 * 100):  # 23 s of retries every 10 ms
            outage.failed(ConnectionError("kafka:9092 refused"))
            clock.now += 0.01
        outage.recovered()
        outage.recovered()  # not in an outage: nothing
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "Kafka consumer orders failed: ConnectionError: kafka:9092 refused" in lines[0]
    assert "recovered after 2300 failures in 23.0s" in lines[1]


def test_a_long_outage_writes_a_summary_each_interval(caplog):
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.outage"), "RabbitMQ", interval=30, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        for _ in range(100):  # 100 s, one retry a second
            outage.failed("refused")
            clock.now += 1
    summaries = [r.getMessage() for r in caplog.records if "still failing" in r.getMessage()]
    assert len(summaries) == 3
    assert summaries[0].startswith("RabbitMQ still failing: 31 failures in 30s")


def test_a_new_outage_after_recovery_is_announced_again(caplog):
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.outage"), "Kafka", clock=clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        outage.failed("a")
        outage.recovered()
        outage.failed("b")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["Kafka failed", "Kafka recovered after 1 failures in 0.0s", "Kafka failed"]


def _record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, ("kafka:9092",), None)


def test_repeat_filter_rate_limits_library_retry_records():
    clock = Clock()
    repeat = RepeatFilter(interval=30, clock=clock)
    passed = []
    for _ in range(3000):  # aiokafka's "Unable connect to node" each 10 ms for 30 s
        record = _record("aiokafka.conn", "Unable connect to %r")
        if repeat.filter(record):
            passed.append(record.getMessage())
        clock.now += 0.01
    clock.now += 0.1  # past the interval, whatever the float sum came to
    record = _record("aiokafka.conn", "Unable connect to %r")
    assert repeat.filter(record)
    passed.append(record.getMessage())
    assert len(passed) == 2
    assert passed[1].endswith("(2999 like this in the last 30s not shown)")


def test_repeat_filter_leaves_our_own_and_low_level_records_alone():
    repeat = RepeatFilter(clock=Clock())
    assert all(repeat.filter(_record("mybroker.bus", "x")) for _ in range(5))
    assert all(repeat.filter(_record("aiokafka.conn", "x", logging.DEBUG)) for _ in range(5))
