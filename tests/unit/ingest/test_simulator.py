from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mybroker.catalog import CatalogEntry, load_catalog
from mybroker.events import parse_iso
from ingest.simulator import SOURCE, MarketSimulator

UTC = timezone.utc
START = datetime(2025, 3, 10, 13, 0, tzinfo=UTC)


def series(simulator: MarketSimulator, ticker: str, count: int, start: datetime = START) -> list[dict]:
    return [simulator.next_tick(ticker, start + timedelta(seconds=i)) for i in range(count)]


def test_same_seed_same_market():
    assert series(MarketSimulator(seed=42), "PETR4", 200) == series(MarketSimulator(seed=42), "PETR4", 200)


def test_different_seeds_different_markets():
    assert [q["price"] for q in series(MarketSimulator(seed=1), "PETR4", 200)] != [
        q["price"] for q in series(MarketSimulator(seed=2), "PETR4", 200)
    ]


def test_a_tickers_ticks_do_not_depend_on_the_others():
    alone = series(MarketSimulator(seed=5), "VALE3", 50)
    busy = MarketSimulator(seed=5)
    interleaved = []
    for i in range(50):
        busy.next_tick("PETR4", START + timedelta(seconds=i))
        interleaved.append(busy.next_tick("VALE3", START + timedelta(seconds=i)))
    assert interleaved == alone


def test_quote_payload_shape_and_arithmetic():
    quotes = series(MarketSimulator(seed=3), "PETR4", 300)
    reference = next(e.reference_price for e in load_catalog() if e.ticker == "PETR4")
    for q in quotes:
        assert set(q) == {"ticker", "price", "change", "changePercent", "volume", "time", "source"}
        assert q["ticker"] == "PETR4" and q["source"] == SOURCE
        price, change = Decimal(q["price"]), Decimal(q["change"])
        assert q["price"] == f"{price:.2f}" and q["change"] == f"{change:.2f}"
        assert change == price - reference
        assert q["changePercent"] == float((change * 100 / reference).quantize(Decimal("0.01")))
        assert parse_iso(q["time"]).tzinfo is not None and q["time"].endswith("Z")
    assert len({q["price"] for q in quotes}) > 5, "the price walks"
    assert all(abs(Decimal(q["change"])) < reference * Decimal("0.15") for q in quotes), "plausible for a short session"


def test_volume_is_cumulative_in_whole_lots_and_resets_with_the_day():
    simulator = MarketSimulator(seed=9)
    today = series(simulator, "PETR4", 100)
    volumes = [q["volume"] for q in today]
    assert volumes == sorted(volumes) and len(set(volumes)) == len(volumes) and volumes[0] > 0
    assert all(v % 100 == 0 for v in volumes)  # PETR4 trades in round lots of 100
    tomorrow = simulator.next_tick("PETR4", START + timedelta(days=1))
    assert 0 < tomorrow["volume"] < volumes[-1]
    # Yesterday's last price is today's previous close.
    assert Decimal(tomorrow["price"]) - Decimal(tomorrow["change"]) == Decimal(today[-1]["price"])


def test_unknown_ticker_is_refused():
    with pytest.raises(ValueError):
        MarketSimulator(seed=1).next_tick("NOPE3", START)


async def test_a_round_has_one_quote_per_catalog_ticker():
    round_ = await MarketSimulator(seed=1).next_round(START)
    assert [q["ticker"] for q in round_] == [e.ticker for e in load_catalog()]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    reference=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5.00"), places=2),
    volatility=st.floats(min_value=0.0, max_value=0.5),
)
def test_prices_stay_on_the_tick_grid_and_positive(seed, reference, volatility):
    """Even penny stocks under absurd volatility never go below R$0.01 or off the grid."""
    simulator = MarketSimulator([CatalogEntry("PENY3", "Penny", "STOCK", 100, reference)], seed, volatility=volatility)
    for quote in series(simulator, "PENY3", 200):
        price = Decimal(quote["price"])
        assert price >= Decimal("0.01") and price == price.quantize(Decimal("0.01"))
        assert quote["volume"] > 0
