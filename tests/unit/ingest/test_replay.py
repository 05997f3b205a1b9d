"""Replay: rounds keep their recorded order and spacing divided by the speed, are
re-stamped from the start of the replay, skip lines that are not quotes, and end the
feed when the recording ends."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from ingest.feed import FeedRunner, QuotePublisher, SourceExhausted
from ingest.replay import ReplaySource, file_quotes, parse_quote, parse_replay_from
from mybroker.bus.memory import MemoryBus
from mybroker.events import MARKET_DATA

START = datetime(2026, 1, 5, 13, 0, tzinfo=timezone.utc)


def q(ticker: str, second: int, price: str = "31.40") -> dict:
    return {"ticker": ticker, "price": price, "change": "0.10", "changePercent": 0.32, "volume": 100 + second,
            "time": f"2025-03-10T13:00:{second:02d}.000Z", "source": "simulator"}


class FakeTime:
    """A monotonic clock that the replay's sleeps advance."""

    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def write(path, lines) -> None:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))


async def play(source: ReplaySource) -> list[list[dict]]:
    played = []
    while True:
        try:
            played.append(await source.next_round(START))
        except SourceExhausted:
            return played


async def test_rounds_keep_their_spacing_scaled_by_the_speed_and_are_restamped(tmp_path):
    path = tmp_path / "session.jsonl"
    write(path, [q("PETR4", 0), q("VALE3", 0), q("PETR4", 4), q("VALE3", 4), q("PETR4", 10)])
    clock = FakeTime()
    source = ReplaySource(file_quotes(path), speed=2.0, clock=lambda: START, sleep=clock.sleep, monotonic=clock.monotonic)
    played = await play(source)
    assert [[quote["ticker"] for quote in round_] for round_ in played] == [["PETR4", "VALE3"], ["PETR4", "VALE3"], ["PETR4"]]
    assert clock.sleeps == [2.0, 3.0]  # 4 s then 6 s recorded, at twice the speed
    assert [round_[0]["time"] for round_ in played] == [
        "2026-01-05T13:00:00.000Z", "2026-01-05T13:00:02.000Z", "2026-01-05T13:00:05.000Z"
    ]
    assert {quote["source"] for round_ in played for quote in round_} == {"replay"}
    assert played[1][0]["price"] == "31.40" and played[1][0]["volume"] == 104  # everything else as recorded


async def test_a_slow_consumer_does_not_stretch_the_session(tmp_path):
    path = tmp_path / "session.jsonl"
    write(path, [q("PETR4", 0), q("PETR4", 4), q("PETR4", 8)])
    clock = FakeTime()
    source = ReplaySource(file_quotes(path), speed=1.0, clock=lambda: START, sleep=clock.sleep, monotonic=clock.monotonic)
    await source.next_round(START)
    clock.now += 5.0  # publishing took longer than the gap: the next round is already due
    await source.next_round(START)
    await source.next_round(START)
    assert clock.sleeps == [3.0]


async def test_lines_that_are_not_quotes_are_skipped(tmp_path, caplog):
    path = tmp_path / "session.jsonl"
    write(path, [q("PETR4", 0), "{not json", json.dumps({"ticker": "X"}), "", q("VALE3", 1, price="abc"),
                 dict(q("VALE3", 1), time="2025-03-10T13:00:01"), dict(q("VALE3", 1), volume="9"), q("VALE3", 2)])
    clock = FakeTime()
    played = await play(ReplaySource(file_quotes(path), clock=lambda: START, sleep=clock.sleep, monotonic=clock.monotonic))
    assert [[quote["ticker"] for quote in round_] for round_ in played] == [["PETR4"], ["VALE3"]]
    assert "5 lines were not quotes" in caplog.text


async def test_an_out_of_order_line_plays_at_once_and_never_goes_back_in_time(tmp_path):
    path = tmp_path / "session.jsonl"
    write(path, [q("PETR4", 5), q("PETR4", 2), q("PETR4", 6)])
    clock = FakeTime()
    played = await play(ReplaySource(file_quotes(path), clock=lambda: START, sleep=clock.sleep, monotonic=clock.monotonic))
    assert [round_[0]["time"][-10:] for round_ in played] == ["00:00.000Z", "00:00.000Z", "00:01.000Z"]


def test_speed_must_be_positive():
    for speed in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="speed"):
            ReplaySource(file_quotes("unused"), speed=speed)


def test_parse_quote_and_replay_from():
    moment, quote = parse_quote(q("PETR4", 3))
    assert moment == datetime(2025, 3, 10, 13, 0, 3, tzinfo=timezone.utc) and quote["ticker"] == "PETR4"
    assert parse_replay_from("mongodb") == ("mongodb", None)
    assert parse_replay_from("mongodb:2025-03-10") == ("mongodb", datetime(2025, 3, 10).date())
    assert parse_replay_from("/tmp/session.jsonl")[0] == "file"
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_replay_from("mongodb:yesterday")
    with pytest.raises(ValueError, match="REPLAY_FROM"):
        parse_replay_from(" ")


async def test_the_feed_publishes_a_replay_at_its_pace_and_then_stops(tmp_path):
    path = tmp_path / "session.jsonl"
    write(path, [q("PETR4", 0), q("VALE3", 0), q("PETR4", 1)])
    bus = MemoryBus()
    received = []

    async def on_message(message):
        received.append(message.data)

    bus.subscribe(MARKET_DATA, "test", on_message)
    # At 50x the one-second gap is 20 ms: quick, and still real pacing.
    runner = FeedRunner(ReplaySource(file_quotes(path), speed=50.0), QuotePublisher(bus), interval=0.0)
    await bus.start()
    await runner.start()
    deadline = asyncio.get_running_loop().time() + 5
    while not runner.exhausted and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    await runner.stop()
    await bus.drain()
    await bus.stop()
    assert runner.exhausted and runner.rounds == 2
    assert [quote["ticker"] for quote in received] == ["PETR4", "VALE3", "PETR4"]
    first, last = (datetime.fromisoformat(received[i]["time"].replace("Z", "+00:00")) for i in (0, 2))
    assert last - first == timedelta(milliseconds=20)
