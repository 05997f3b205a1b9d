"""The embedded platform serves every subgraph in one process: orders' calls to the wallet
(reserve before an order, settle each of B3's reports) go to the wallet's app directly,
not through a socket, and a trade reads the same as ever."""
from __future__ import annotations

import pytest

from mybroker.internal_http import InternalClient
from tests.e2e.test_trader_story import DEPOSIT, PLACE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_an_order_reserves_and_settles_without_a_socket(platform, new_client, monkeypatch):
    assert set(platform.infra.local_apps) == {"identity", "wallet", "assets", "orders", "reports"}
    over_sockets = []
    http_call = InternalClient._call

    async def counted(self, method, path, body):
        over_sockets.append(path)
        return await http_call(self, method, path, body)

    monkeypatch.setattr(InternalClient, "_call", counted)
    trader = new_client()
    await sign_up(trader, "inprocess")
    await trader.execute(DEPOSIT, {"amount": "10000.00"})
    order = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100}}))[
        "placeOrder"
    ]
    await until_status(trader, order["id"], "FILLED")
    wallet = (await trader.execute("{ me { wallet { blocked positions { asset { ticker } quantity } } } }"))["me"]["wallet"]
    assert wallet["blocked"] == "0.00"
    assert [(p["asset"]["ticker"], p["quantity"]) for p in wallet["positions"]] == [("PETR4", 100)]
    assert over_sockets == []
