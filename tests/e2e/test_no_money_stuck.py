"""No money stuck, through the router and the services' own HTTP APIs: clientOrderId
retries and races, a reservation whose order was never stored (orders "died" between
reserving and saving) released by the wallet's sweeper, `mybroker reconcile` against the
running platform, and /metrics on the subgraphs."""
from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from launch.cli import main
from mybroker.internal_http import InternalClient
from subgraphs.orders.idempotency import LOST_REASON, order_id_for
from tests.conftest import Client, own_platform, platform_settings
from tests.e2e.test_trader_story import DEPOSIT, ORDER, PLACE, QUOTE, sign_up, wallet

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ME = "{ me { id } }"


async def trader_with_cash(client, name: str, amount: str = "10000.00") -> str:
    await sign_up(client, name)
    await client.execute(DEPOSIT, {"amount": amount})
    await client.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
    return (await client.execute(ME))["me"]["id"]


def limit_buy(key: str, quantity: int = 100, price: str = "10.00") -> dict:
    return {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": quantity, "limitPrice": price,
                      "timeInForce": "GTC", "clientOrderId": key}}


async def test_racing_retries_make_one_order_and_block_its_money_once(new_client):
    trader = new_client()
    await trader_with_cash(trader, "racer")
    placed = await asyncio.gather(*(trader.execute(PLACE, limit_buy("race-1")) for _ in range(8)))
    ids = {p["placeOrder"]["id"] for p in placed}
    assert len(ids) == 1
    cash = await wallet(trader)
    assert (cash["available"], cash["blocked"]) == ("9000.00", "1000.00")

    # Other terms under the same key: refused with the contract's code and a plain sentence.
    status, body = await trader.post(PLACE, limit_buy("race-1", quantity=200))
    [error] = body["errors"]
    assert error["extensions"]["code"] == "DUPLICATE_CLIENT_ORDER_ID"
    assert "race-1" in error["message"] and "other terms" in error["message"]
    assert (await wallet(trader))["blocked"] == "1000.00"


async def test_reconcile_from_the_command_line_asks_about_live_orders(platform, new_client, monkeypatch, capsys):
    trader = new_client()
    await trader_with_cash(trader, "reconciler")
    resting = (await trader.execute(PLACE, limit_buy("rest-1", price="1.00")))["placeOrder"]
    await trader.until(ORDER, {"id": resting["id"]}, lambda d: d["order"]["status"] == "OPEN")

    settings = platform.settings
    monkeypatch.setenv("MYBROKER_DATA_DIR", str(settings.data_dir))  # where the platform left its secret
    monkeypatch.delenv("MYBROKER_INTERNAL_SECRET", raising=False)
    monkeypatch.setenv("MYBROKER_ORDERS_URL", settings.url("orders"))
    await asyncio.to_thread(main, ["reconcile", "--wait", "5"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == {"checked", "resting", "done", "unknown", "corrected", "unanswered"}
    assert summary["checked"] >= 1  # at least the resting order above
    assert summary["checked"] == summary["resting"] + summary["done"] + summary["unknown"] + summary["unanswered"]
    assert (await trader.execute(ORDER, {"id": resting["id"]}))["order"]["status"] == "OPEN"


async def test_subgraphs_serve_counters_to_anyone_and_no_users_data(platform, new_client, http):
    trader = new_client()
    user_id = await trader_with_cash(trader, "metrics")
    await trader.execute(PLACE, limit_buy("m-1", price="1.00"))
    texts = {}
    for name in ("orders", "wallet"):
        async with http.get(platform.settings.url(name) + "/metrics") as response:
            assert response.status == 200
            texts[name] = await response.text()
    assert "mybroker_orders_status_requests_total" in texts["orders"]
    assert "mybroker_orders_reconcile_corrections_total" in texts["orders"]
    assert "mybroker_wallet_orphan_reservations_released_total" in texts["wallet"]
    for text in texts.values():
        assert user_id not in text and "m-1" not in text


# ---------------------------------------------------------------- the sweeper, on a platform of its own


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def quick_sweeper(tmp_path_factory):
    """A platform whose sweeper has a one-second grace, so the story takes seconds."""
    settings = platform_settings(tmp_path_factory.mktemp("sweeper")).with_overrides(
        reservation_grace_seconds=1.0, reservation_sweep_interval=0.2, fees=False  # about the sweeper, not costs
    )
    async with own_platform(settings) as running:
        yield running


async def test_a_reservation_whose_order_was_never_stored_is_released(quick_sweeper):
    settings = quick_sweeper.settings
    async with aiohttp.ClientSession() as session:
        trader = Client(session, quick_sweeper.router_url)
        user_id = await trader_with_cash(trader, "orphan")
        # What orders does before it dies between reserving and saving (the kill -9 of the issue).
        orphan = order_id_for(user_id, "died-1")
        wallet_api = InternalClient(settings.url("wallet"), settings.internal_secret)
        try:
            await wallet_api.call(
                "POST", "/internal/reservations",
                {"orderId": orphan, "userId": user_id, "side": "BUY", "ticker": "PETR4", "quantity": 100, "pricePerShare": "25.00"},
            )
        finally:
            await wallet_api.close()
        assert (await wallet(trader))["blocked"] == "2500.00"

        # A live order made at the same time keeps its money.
        live = (await trader.execute(PLACE, limit_buy("alive-1", price="1.00")))["placeOrder"]
        freed = await trader.until("{ me { wallet { available blocked } } }", None,
                                   lambda d: d["me"]["wallet"]["blocked"] == "100.00", timeout=30)
        assert freed["me"]["wallet"]["available"] == "9900.00"
        assert (await trader.execute(ORDER, {"id": live["id"]}))["order"]["status"] in ("PENDING", "OPEN")

        # The client's retry with its key finds the order as the broker ended it.
        again = (await trader.execute(PLACE, limit_buy("died-1", price="25.00")))["placeOrder"]
        assert (again["id"], again["status"]) == (orphan, "REJECTED")
        lost = (await trader.execute(ORDER, {"id": orphan}))["order"]
        assert lost["rejectReason"] == LOST_REASON and lost["executions"] == []
        cash = await wallet(trader)
        assert (Decimal(cash["available"]), cash["blocked"]) == (Decimal("9900.00"), "100.00")
