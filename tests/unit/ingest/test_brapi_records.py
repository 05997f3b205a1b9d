"""Brapi records to Quote payloads: the documented record maps exactly, and every kind of
bad field is refused with a countable reason."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.brapi_records import InvalidRecord, batches, quote_from_record
from tests.support.fake_brapi import FIXTURE, fixture_response

SHARED_FIXTURE = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "brapi-quote-PETR4.json"


def record(**changes):
    base = fixture_response()["results"][0]
    base.update(changes)
    return base


def test_the_fixture_copy_matches_the_shared_one_when_present():
    if SHARED_FIXTURE.exists():  # development and CI check out shared/ beside the repository
        assert json.loads(SHARED_FIXTURE.read_text()) == json.loads(FIXTURE.read_text())


def test_the_documented_record_becomes_a_quote():
    quote = quote_from_record(record(), {"PETR4"})
    assert quote == {
        "ticker": "PETR4",
        "price": "31.42",
        "change": "0.37",  # 31.42 - 31.05, recomputed from the prices
        "changePercent": 1.19,
        "volume": 38214500,
        "time": "2025-10-17T20:07:00.000Z",
        "source": "brapi",
    }


def test_prices_go_through_their_decimal_text_and_round_to_the_centavo():
    quote = quote_from_record(record(regularMarketPrice=0.1 + 0.2, regularMarketPreviousClose=31.005))
    assert quote["price"] == "0.30"  # 0.30000000000000004 as a float
    assert Decimal(quote["change"]) == Decimal("0.30") - Decimal("31.00")  # 31.005 -> 31.00 (half even)
    assert quote_from_record(record(regularMarketPrice="31.4"))["price"] == "31.40"


def test_a_falling_price_has_a_negative_change():
    quote = quote_from_record(record(regularMarketPrice=30.00, regularMarketPreviousClose=31.05))
    assert (quote["change"], quote["changePercent"]) == ("-1.05", -3.38)


def test_epoch_seconds_and_offsets_are_read_as_utc():
    assert quote_from_record(record(regularMarketTime=1760731620))["time"] == "2025-10-17T20:07:00.000Z"
    assert quote_from_record(record(regularMarketTime="2025-10-17T17:07:00-03:00"))["time"] == "2025-10-17T20:07:00.000Z"


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"symbol": None}, "bad_symbol"),
        ({"symbol": ""}, "bad_symbol"),
        ({"symbol": "PETR4; DROP"}, "bad_symbol"),
        ({"symbol": "VALE3"}, "unexpected_symbol"),
        ({"currency": "USD"}, "bad_currency"),
        ({"regularMarketPrice": None}, "bad_price"),
        ({"regularMarketPrice": "abc"}, "bad_price"),
        ({"regularMarketPrice": True}, "bad_price"),
        ({"regularMarketPrice": 0}, "bad_price"),
        ({"regularMarketPrice": -1.5}, "bad_price"),
        ({"regularMarketPrice": 0.004}, "bad_price"),
        ({"regularMarketPrice": float("nan")}, "bad_price"),
        ({"regularMarketPrice": "Infinity"}, "bad_price"),
        ({"regularMarketPreviousClose": None}, "bad_price"),
        ({"regularMarketVolume": -1}, "bad_volume"),
        ({"regularMarketVolume": 10.5}, "bad_volume"),
        ({"regularMarketVolume": "100"}, "bad_volume"),
        ({"regularMarketTime": "yesterday"}, "bad_time"),
        ({"regularMarketTime": "2025-10-17T20:07:00"}, "bad_time"),
        ({"regularMarketTime": None}, "bad_time"),
    ],
)
def test_bad_fields_are_refused_with_a_reason(changes, reason):
    with pytest.raises(InvalidRecord) as refused:
        quote_from_record(record(**changes), {"PETR4"})
    assert refused.value.reason == reason


def test_a_record_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidRecord) as refused:
        quote_from_record(["PETR4", 31.42])
    assert refused.value.reason == "not_an_object"


def test_batches_follow_the_plan_size():
    assert batches(["A", "B", "C"], 1) == [["A"], ["B"], ["C"]]
    assert batches(["A", "B", "C"], 2) == [["A", "B"], ["C"]]
    assert batches([], 5) == []
    with pytest.raises(ValueError):
        batches(["A"], 0)
