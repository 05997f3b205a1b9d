"""The orders service's internal API over HTTP: the wallet sweeper's reservation checks,
the reconcile endpoint `mybroker reconcile` calls, and /metrics (counters, no user data)."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from mybroker.auth import internal_headers
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from launch.cli import main
from mybroker.events import EXECUTION_REPORT, EXECUTIONS, Envelope
from mybroker.internal_http import InternalClient
from launch.platform import serve_app
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from subgraphs.orders.app import create_service
from subgraphs.wallet.sweeper import OrdersClient, Unconfirmed
from tests.unit.orders.test_orders_app import SECRET, free_port

T0 = datetime(2026, 1, 5, 13, 0, tzinfo=timezone.utc)


@pytest_asyncio.fixture
async def orders_http(tmp_path, harness):
    settings = Settings(data_dir=tmp_path, internal_secret=SECRET, reconcile_interval=0)
    bus = MemoryBus()
    service = create_service(Infrastructure(settings, bus, MemoryCache()), assets=harness.assets, wallet=harness.wallet)
    await service.start()
    await bus.start()
    port = free_port()
    server, task = await serve_app(service.app, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}", bus
    finally:
        server.should_exit = True
        await task
        await bus.stop()
        await service.stop()


async def place(url: str, quantity: int = 100) -> str:
    query = {
        "query": "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
        "variables": {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": quantity, "limitPrice": "30.00"}},
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/graphql", json=query, headers=internal_headers(SECRET, "alice")) as response:
            body = await response.json()
    return body["data"]["placeOrder"]["id"]


async def test_the_internal_api_needs_the_internal_secret(orders_http):
    url, _bus = orders_http
    async with aiohttp.ClientSession() as http:
        for path in ("/internal/reservation-checks", "/internal/reconcile"):
            async with http.post(url + path, json={}) as response:
                assert response.status == 403
            async with http.post(url + path, json={}, headers=internal_headers("wrong")) as response:
                assert response.status == 403


async def test_the_sweepers_client_asks_and_orders_answers(orders_http):
    url, _bus = orders_http
    stored = await place(url)
    client = OrdersClient(InternalClient(url, SECRET))
    try:
        answers = await client.check(
            [
                Unconfirmed(stored, "alice", "BUY", "PETR4", 100, Decimal("30.00"), T0),
                Unconfirmed("5a1c4b0e-0000-4000-8000-000000000001", "alice", "SELL", "PETR4", 200, Decimal("0"), T0),
            ]
        )
    finally:
        await client.close()
    assert answers == {stored: "exists", "5a1c4b0e-0000-4000-8000-000000000001": "absent"}


async def test_a_malformed_reservation_is_refused_alone(orders_http):
    url, _bus = orders_http
    body = {
        "reservations": [
            {"orderId": "o-ok", "userId": "alice", "side": "BUY", "ticker": "PETR4", "quantity": 100, "pricePerShare": "1.00"},
            {"orderId": "o-bad", "userId": "alice", "side": "HOLD", "ticker": "PETR4", "quantity": 100},
            {"orderId": "o-zero", "userId": "alice", "side": "BUY", "ticker": "PETR4", "quantity": 0},
        ]
    }
    answer = await InternalClient(url, SECRET).call("POST", "/internal/reservation-checks", body)
    assert answer["orders"] == {"o-ok": "absent"}
    assert set(answer["refused"]) == {"o-bad", "o-zero"} and "BUY or SELL" in answer["refused"]["o-bad"]
    async with aiohttp.ClientSession() as http:
        headers = internal_headers(SECRET)
        async with http.post(f"{url}/internal/reservation-checks", json={"reservations": "all"}, headers=headers) as response:
            assert response.status == 422 and (await response.json())["code"] == "BAD_USER_INPUT"
        async with http.post(f"{url}/internal/reconcile", json={"wait": -1}, headers=headers) as response:
            assert response.status == 422 and (await response.json())["code"] == "BAD_USER_INPUT"


async def test_reconcile_over_http_and_from_the_command_line(orders_http, monkeypatch, capsys):
    url, bus = orders_http
    order_id = await place(url)
    summary = await InternalClient(url, SECRET).call("POST", "/internal/reconcile", {"wait": 0})
    assert summary == {"checked": 0, "resting": 0, "done": 0, "unknown": 0, "corrected": 0, "unanswered": 0}

    # Once B3 accepted it, the order is live: the command asks about it and prints one JSON line.
    accepted = {"orderId": order_id, "execType": "ACCEPTED", "time": "2026-01-05T13:00:00.000Z"}
    await bus.publish(EXECUTIONS, Envelope(EXECUTION_REPORT, accepted), key=order_id)
    await bus.drain()
    monkeypatch.setenv("MYBROKER_ORDERS_URL", url)
    monkeypatch.setenv("MYBROKER_INTERNAL_SECRET", SECRET)
    await asyncio.to_thread(main, ["reconcile", "--wait", "0"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(line) == {"checked": 1, "resting": 0, "done": 0, "unknown": 0, "corrected": 0, "unanswered": 1}


async def test_the_command_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("MYBROKER_INTERNAL_SECRET", raising=False)
    monkeypatch.setenv("MYBROKER_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match="MYBROKER_INTERNAL_SECRET"):
        await asyncio.to_thread(main, ["reconcile"])
    # An embedded platform's saved secret is enough; a service that is not running is said so.
    Settings(data_dir=tmp_path, internal_secret="saved").save_internal_secret()
    monkeypatch.setenv("MYBROKER_ORDERS_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SystemExit, match="did not run the pass"):
        await asyncio.to_thread(main, ["reconcile", "--wait", "0"])


async def test_metrics_are_counters_anyone_may_read_and_tell_no_users_data(orders_http):
    url, _bus = orders_http
    order_id = await place(url)
    await InternalClient(url, SECRET).call(
        "POST",
        "/internal/reservation-checks",
        {"reservations": [{"orderId": "lost-1", "userId": "alice", "side": "BUY", "ticker": "PETR4", "quantity": 100, "pricePerShare": "1.00"}]},
    )
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/metrics") as response:  # no credentials
            assert response.status == 200 and response.content_type == "text/plain"
            text = await response.text()
    assert "mybroker_orders_lost_placements_total 1.0" in text
    assert 'mybroker_orders_reservation_checks_total{answer="absent"} 1.0' in text
    for name in ("status_requests", "reconcile_corrections", "reconcile_passes", "reconcile_unanswered"):
        assert f"mybroker_orders_{name}_total 0.0" in text
    for secret in ("alice", order_id, "lost-1", "30.00"):
        assert secret not in text
