"""The subscription benchmark's publisher: the quotes it puts on the market-data channel
are the platform's own Quote messages, at the asked rate, over the asked tickers, each
stamped with the moment it was published."""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from graphql import build_schema, parse, validate

from mybroker.events import MARKET_DATA, QUOTE, parse_iso
from bench.subscriptions import QUERY
from bench.subscriptions_host import publish


class RecordingBus:
    def __init__(self):
        self.sent = []

    async def publish(self, channel, message, key=None):
        self.sent.append((channel, message, key, time.time()))


async def test_publishes_rate_times_seconds_quotes_round_robin_and_stamped():
    bus = RecordingBus()
    platform = SimpleNamespace(infra=SimpleNamespace(bus=bus))
    started = time.time()
    outcome = await publish(platform, rate=200, seconds=0.25, tickers=["PETR4", "VALE3"])
    assert outcome["published"] == 50 and outcome["per_ticker"] == {"PETR4": 25, "VALE3": 25}
    assert outcome["seconds"] >= 0.2  # paced, not a burst
    for i, (channel, message, key, sent_at) in enumerate(bus.sent):
        assert channel == MARKET_DATA and message.type == QUOTE
        assert key == message.data["ticker"] == ["PETR4", "VALE3"][i % 2]
        stamped = parse_iso(message.data["time"]).timestamp()
        assert started - 0.001 <= stamped <= sent_at + 0.001
        assert set(message.data) == {"ticker", "price", "change", "changePercent", "volume", "time", "source"}


def test_the_subscription_is_the_public_quotes_subscription():
    schema = build_schema((Path(__file__).resolve().parents[2] / "contract" / "schema.graphql").read_text())
    assert validate(schema, parse(QUERY)) == []
