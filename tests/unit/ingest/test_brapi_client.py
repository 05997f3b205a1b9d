"""The Brapi client and source against the fake Brapi (tests/support/fake_brapi.py):
batching, token, retries on 429/5xx/timeouts with bounded attempts, malformed answers
and bad records, none of which ever reaches the published quotes."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone

import pytest
import pytest_asyncio

from ingest.brapi import BrapiClient, BrapiError, BrapiSource
from ingest.retry import Backoff
from tests.support.fake_brapi import FakeBrapi

NOW = datetime(2025, 10, 17, 20, 10, tzinfo=timezone.utc)


class Sleeps:
    """Stands in for asyncio.sleep: records each backoff wait instead of waiting it."""

    def __init__(self):
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest_asyncio.fixture
async def brapi():
    async with FakeBrapi(token="secret", max_tickers=2) as server:
        server.add("VALE3", regularMarketPrice=60.12, regularMarketPreviousClose=60.00, regularMarketVolume=1000)
        server.add("ITUB4", regularMarketPrice=35.00, regularMarketPreviousClose=35.50, regularMarketVolume=500)
        yield server


def client_for(server: FakeBrapi, sleeps: Sleeps, **options) -> BrapiClient:
    options.setdefault("timeout", 2.0)
    return BrapiClient(
        server.url, "secret", backoff=Backoff(base=0.5, cap=4.0), rng=random.Random(1), sleep=sleeps, clock=lambda: NOW, **options
    )


async def test_a_round_polls_every_ticker_in_plan_sized_batches_with_the_token(brapi):
    source = BrapiSource(client_for(brapi, Sleeps()), ["PETR4", "VALE3", "ITUB4"], batch_size=2)
    try:
        quotes = await source.next_round(NOW)
    finally:
        await source.close()
    assert [r.tickers for r in brapi.requests] == [["PETR4", "VALE3"], ["ITUB4"]]
    assert {r.token for r in brapi.requests} == {"secret"}
    assert [(q["ticker"], q["price"], q["change"], q["source"]) for q in quotes] == [
        ("PETR4", "31.42", "0.37", "brapi"),
        ("VALE3", "60.12", "0.12", "brapi"),
        ("ITUB4", "35.00", "-0.50", "brapi"),
    ]


async def test_an_unchanged_quote_is_not_published_again(brapi):
    source = BrapiSource(client_for(brapi, Sleeps()), ["PETR4", "VALE3"], batch_size=2)
    try:
        assert len(await source.next_round(NOW)) == 2
        brapi.update("VALE3", regularMarketPrice=60.20, regularMarketVolume=1500, regularMarketTime="2025-10-17T20:08:00.000Z")
        again = await source.next_round(NOW)
    finally:
        await source.close()
    assert [(q["ticker"], q["price"], q["volume"]) for q in again] == [("VALE3", "60.20", 1500)]
    assert source.stats.unchanged == 1


async def test_429_is_retried_after_the_servers_retry_after(brapi):
    brapi.rate_limit(times=2, retry_after="3")
    sleeps = Sleeps()
    client = client_for(brapi, sleeps)
    try:
        results = await client.fetch(["PETR4"])
    finally:
        await client.close()
    assert [r["symbol"] for r in results] == ["PETR4"]
    assert len(brapi.requests) == 3 and len(sleeps.delays) == 2
    assert all(3.0 <= d <= 3.5 for d in sleeps.delays)
    assert client.stats.outcomes["rate_limited"] == 2 and client.stats.outcomes["ok"] == 1


async def test_429_without_retry_after_backs_off_exponentially(brapi):
    brapi.rate_limit(times=3, retry_after=None)
    sleeps = Sleeps()
    client = client_for(brapi, sleeps, max_attempts=4)
    try:
        await client.fetch(["PETR4"])
    finally:
        await client.close()
    assert len(sleeps.delays) == 3
    assert all(0 <= d <= cap for d, cap in zip(sleeps.delays, [0.5, 1.0, 2.0]))


async def test_a_retry_after_beyond_the_limit_gives_up_the_batch_at_once(brapi):
    brapi.rate_limit(times=1, retry_after="3600")
    sleeps = Sleeps()
    client = client_for(brapi, sleeps)
    try:
        with pytest.raises(BrapiError) as failed:
            await client.fetch(["PETR4"])
    finally:
        await client.close()
    assert failed.value.reason == "rate_limited" and sleeps.delays == [] and len(brapi.requests) == 1


async def test_5xx_is_retried_a_bounded_number_of_times(brapi):
    brapi.fail(times=10, status=503)
    sleeps = Sleeps()
    client = client_for(brapi, sleeps, max_attempts=3)
    try:
        with pytest.raises(BrapiError) as failed:
            await client.fetch(["PETR4"])
    finally:
        await client.close()
    assert failed.value.reason == "http_503"
    assert len(brapi.requests) == 3 and len(sleeps.delays) == 2


async def test_a_refused_connection_is_retried_then_gives_up():
    sleeps = Sleeps()
    client = BrapiClient("http://127.0.0.1:1/api", max_attempts=2, sleep=sleeps)  # nothing listens on port 1
    try:
        with pytest.raises(BrapiError) as failed:
            await client.fetch(["PETR4"])
    finally:
        await client.close()
    assert failed.value.reason == "connection_error" and failed.value.transient
    assert client.stats.outcomes["connection_error"] == 2 and len(sleeps.delays) == 1


async def test_a_timeout_is_retried(brapi):
    brapi.stall(times=1, seconds=30.0)  # ended by the server's stop, never waited out
    sleeps = Sleeps()
    client = client_for(brapi, sleeps, timeout=1.0)  # generous: a loaded machine still answers in time
    try:
        results = await client.fetch(["PETR4"])
    finally:
        await client.close()
    assert results[0]["symbol"] == "PETR4"
    assert client.stats.outcomes["timeout"] == 1 and len(sleeps.delays) == 1


async def test_malformed_json_fails_the_batch_without_retrying(brapi):
    sleeps = Sleeps()
    client = client_for(brapi, sleeps)
    try:
        for body in (b'{"results": [{"symbol": "PET', b'{"results": "none"}', b"[]"):
            brapi.malformed(body=body)
            with pytest.raises(BrapiError) as failed:
                await client.fetch(["PETR4"])
            assert failed.value.reason == "malformed_response"
    finally:
        await client.close()
    assert len(brapi.requests) == 3 and sleeps.delays == []


async def test_a_refused_token_or_an_unknown_ticker_is_not_retried(brapi):
    sleeps = Sleeps()
    wrong = BrapiClient(brapi.url, "wrong", sleep=sleeps)
    right = client_for(brapi, sleeps)
    try:
        with pytest.raises(BrapiError, match="http_401.*token"):
            await wrong.fetch(["PETR4"])
        with pytest.raises(BrapiError, match="http_404.*XPTO3"):
            await right.fetch(["XPTO3"])
    finally:
        await wrong.close()
        await right.close()
    assert len(brapi.requests) == 2 and sleeps.delays == []


async def test_the_client_never_shows_the_token(brapi, caplog):
    brapi.fail(times=1)
    client = client_for(brapi, Sleeps())
    try:
        await client.fetch(["PETR4"])
        with pytest.raises(BrapiError) as failed:
            brapi.malformed()
            await client.fetch(["PETR4"])
    finally:
        await client.close()
    assert "secret" not in str(failed.value) and "secret" not in caplog.text and "secret" not in repr(client.__dict__.get("base_url"))


async def test_bad_records_are_counted_and_never_published(brapi):
    brapi.update("VALE3", regularMarketPrice=None)
    brapi.update("ITUB4", regularMarketTime="not a time")
    source = BrapiSource(client_for(brapi, Sleeps()), ["PETR4", "VALE3", "ITUB4"], batch_size=1)
    try:
        quotes = await source.next_round(NOW)
    finally:
        await source.close()
    assert [q["ticker"] for q in quotes] == ["PETR4"]
    assert source.stats.invalid_records == {"bad_price": 1, "bad_time": 1} and source.stats.invalid == 2


async def test_an_unknown_ticker_costs_only_its_own_batch(brapi):
    source = BrapiSource(client_for(brapi, Sleeps()), ["XPTO3", "PETR4"], batch_size=1)
    try:
        quotes = await source.next_round(NOW)
    finally:
        await source.close()
    assert [q["ticker"] for q in quotes] == ["PETR4"] and source.stats.failed_batches == 1


async def test_brapi_down_ends_the_round_and_the_skipped_tickers_go_first_next_time(brapi):
    sleeps = Sleeps()
    source = BrapiSource(client_for(brapi, sleeps, max_attempts=2), ["PETR4", "VALE3", "ITUB4"], batch_size=1)
    brapi.fail(times=2, status=500)  # both attempts of the first batch
    try:
        first = await source.next_round(NOW)
        assert first == [] and len(brapi.requests) == 2 and len(sleeps.delays) == 1
        assert (source.stats.failed_batches, source.stats.skipped_batches) == (1, 2)
        second = await source.next_round(NOW)
    finally:
        await source.close()
    assert [q["ticker"] for q in second] == ["VALE3", "ITUB4", "PETR4"]


async def test_a_source_needs_tickers_and_a_sane_batch_size(brapi):
    client = client_for(brapi, Sleeps())
    with pytest.raises(ValueError):
        BrapiSource(client, [])
    with pytest.raises(ValueError):
        BrapiSource(client, ["PETR4"], batch_size=0)
    with pytest.raises(ValueError, match="not B3 tickers"):
        BrapiSource(client, ["PETR4", "../admin"])
    with pytest.raises(ValueError):
        BrapiClient(brapi.url, max_attempts=0)
