"""The wallet as the platform runs it: its HTTP endpoints, outbox relay and consumer."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
import pytest_asyncio

from mybroker.auth import internal_headers
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import WALLET_EVENTS, Envelope
from mybroker.internal_http import InternalClient
from launch.platform import serve_app
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from subgraphs.wallet.app import create_service


SECRET = "internal-secret-for-tests-0123456789"
ANA = "user-ana"
DEPOSIT = 'mutation { deposit(amount: "1000.00") { available } }'
WALLET = '{ _entities(representations: [{__typename: "User", id: "user-ana"}]) { ... on User { wallet { available blocked } } } }'


@pytest_asyncio.fixture
async def running(tmp_path, unused_tcp_port):
    settings = Settings(data_dir=tmp_path, ports={**Settings().ports, "wallet": unused_tcp_port}, internal_secret=SECRET, fees=False)  # about the HTTP API, not costs
    bus = MemoryBus(retry_delay=0.001)
    published: list[Envelope] = []

    async def capture(message: Envelope) -> None:
        published.append(message)

    bus.subscribe(WALLET_EVENTS, "test-capture", capture)
    service = create_service(Infrastructure(settings, bus, MemoryCache()))
    await service.start()
    await bus.start()
    server, task = await serve_app(service.app, settings.host, unused_tcp_port)
    client = InternalClient(settings.url("wallet"), SECRET)
    async with aiohttp.ClientSession(base_url=settings.url("wallet")) as http:
        yield http, client, bus, published
    await client.close()
    server.should_exit = True
    await task
    await bus.stop()
    await service.stop()


async def graphql(http, query: str, user_id: str | None = ANA) -> dict:
    async with http.post("/graphql", json={"query": query}, headers=internal_headers(SECRET, user_id)) as response:
        return await response.json()


async def test_reservations_over_http(running):
    http, client, _bus, _published = running
    assert (await graphql(http, DEPOSIT))["data"] == {"deposit": {"available": "1000.00"}}
    body = {"orderId": "o1", "userId": ANA, "side": "BUY", "ticker": "PETR4", "quantity": 100, "pricePerShare": "6.50"}
    assert await client.call("POST", "/internal/reservations", body) == {"orderId": "o1", "amount": "650.00"}
    assert await client.call("POST", "/internal/reservations", body) == {"orderId": "o1", "amount": "650.00"}
    with pytest.raises(DomainError) as caught:
        await client.call("POST", "/internal/reservations", {**body, "orderId": "o2"})
    assert caught.value.code is ErrorCode.INSUFFICIENT_FUNDS
    with pytest.raises(DomainError) as caught:
        await client.call("POST", "/internal/reservations", {**body, "orderId": "o3", "side": "SELL"})
    assert caught.value.code is ErrorCode.INSUFFICIENT_POSITION
    for bad in ({**body, "quantity": "100"}, {**body, "pricePerShare": 6.5}, {**body, "orderId": ""}, {"orderId": "o4"}):
        with pytest.raises(DomainError) as caught:
            await client.call("POST", "/internal/reservations", bad)
        assert caught.value.code is ErrorCode.BAD_USER_INPUT
    state = (await graphql(http, WALLET))["data"]["_entities"][0]["wallet"]
    assert state == {"available": "350.00", "blocked": "650.00"}

    assert await client.call("DELETE", "/internal/reservations/o1") == {"orderId": "o1", "released": True}
    assert await client.call("DELETE", "/internal/reservations/o1") == {"orderId": "o1", "released": True}
    assert await client.call("DELETE", "/internal/reservations/nope") == {"orderId": "nope", "released": False}
    state = (await graphql(http, WALLET))["data"]["_entities"][0]["wallet"]
    assert state == {"available": "1000.00", "blocked": "0.00"}


async def test_internal_endpoints_refuse_outsiders(running):
    http, _client, _bus, _published = running
    body = {"orderId": "o1", "userId": ANA, "side": "BUY", "ticker": "PETR4", "quantity": 1, "pricePerShare": "1.00"}
    async with http.post("/internal/reservations", json=body) as response:
        assert response.status == 403
    async with http.post("/internal/reservations", json=body, headers=internal_headers("wrong-secret")) as response:
        assert response.status == 403
    async with http.delete("/internal/reservations/o1") as response:
        assert response.status == 403
    # And a user header without the internal token is nobody.
    answer = await graphql(http, DEPOSIT, user_id=None)
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_ledger_entries_reach_the_bus_and_settlements_settle(running):
    http, client, bus, published = running
    await graphql(http, DEPOSIT)
    await client.call(
        "POST", "/internal/reservations",
        {"orderId": "o1", "userId": ANA, "side": "BUY", "ticker": "PETR4", "quantity": 100, "pricePerShare": "6.50"},
    )
    await client.call("POST", "/internal/settlements", {"orderId": "o1", "executionId": "x1", "quantity": 100, "price": "6.40", "closed": True})
    for _ in range(200):  # the relay publishes asynchronously
        if len(published) >= 4:
            break
        await asyncio.sleep(0.01)
    assert [(m.data["type"], m.data["amount"]) for m in published] == [
        ("DEPOSIT", "1000.00"), ("RESERVE", "-650.00"), ("RELEASE", "650.00"), ("BUY", "-640.00"),
    ]
    assert all(m.data["userId"] == ANA for m in published)
    assert (await graphql(http, WALLET))["data"]["_entities"][0]["wallet"] == {"available": "360.00", "blocked": "0.00"}


async def test_the_wallet_reads_the_trading_calendar_at_start_not_on_its_first_fill(tmp_path):
    """Loading exchange-calendars takes about 0.4 s; on the first fill it stalled every request."""
    import mybroker.calendar as calendar_module

    fresh = calendar_module.B3Calendar()
    previous, calendar_module._SHARED = calendar_module._SHARED, fresh
    try:
        settings = Settings(data_dir=tmp_path, internal_secret=SECRET)
        service = create_service(Infrastructure(settings, MemoryBus(), MemoryCache()))
        assert "_sessions" not in vars(fresh)
        await service.start()
        try:
            assert "_sessions" in vars(fresh), "loaded by the wallet's start"
        finally:
            await service.stop()
    finally:
        calendar_module._SHARED = previous


async def test_an_assets_corporate_events_are_public_newest_record_date_first(running, tmp_path):
    from mybroker.db import Database
    from subgraphs.wallet.corporate_events import parse_events
    from subgraphs.wallet.corporate_events_service import CorporateEventsService
    from subgraphs.wallet.tables import metadata

    http, _client, _bus, _published = running
    db = Database(Settings(data_dir=tmp_path).database_url("wallet"), metadata)
    try:
        await CorporateEventsService(db).load(parse_events({"illustrative": True, "events": [
            {"id": "old", "ticker": "PETR4", "kind": "DIVIDEND", "recordDate": "2026-06-15", "paymentDate": "2026-06-30", "amountPerShare": "0.4537"},
            {"id": "new", "ticker": "PETR4", "kind": "SPLIT", "recordDate": "2026-12-18", "ratioNew": 2, "ratioOld": 1},
        ]}))
    finally:
        await db.dispose()
    query = """{ _entities(representations: [{__typename: "Asset", ticker: "PETR4"}, {__typename: "Asset", ticker: "VALE3"}]) {
        ... on Asset { corporateEvents { id kind recordDate exDate paymentDate amountPerShare ratioNew ratioOld illustrative } } } }"""
    body = await graphql(http, query, user_id=None)  # no caller: an asset's events are public
    assert "errors" not in body, body
    petr4, vale3 = body["data"]["_entities"]
    assert [e["id"] for e in petr4["corporateEvents"]] == ["new", "old"]
    split, dividend = petr4["corporateEvents"]
    assert (split["exDate"], split["ratioNew"], split["ratioOld"], split["paymentDate"]) == ("2026-12-21", 2, 1, None)
    assert (dividend["amountPerShare"], dividend["exDate"], dividend["illustrative"]) == ("0.4537", "2026-06-16", True)
    assert vale3["corporateEvents"] == []


STATEMENT_LINKS = """{ _entities(representations: [{__typename: "User", id: "user-ana"}]) {
  ... on User { wallet { statement(month: "%s") { closingBalance csvUrl } } } } }"""


async def test_a_statement_link_names_the_document_the_internal_api_serves_as_its_user(running):
    import jwt as pyjwt

    from mybroker.calendar import BRASILIA
    from mybroker.download_links import AUDIENCE, link_key
    from mybroker.events import utcnow

    http, _client, _bus, _published = running
    await graphql(http, DEPOSIT)
    month = utcnow().astimezone(BRASILIA).strftime("%Y-%m")
    statement = (await graphql(http, STATEMENT_LINKS % month))["data"]["_entities"][0]["wallet"]["statement"]
    assert statement["closingBalance"] == "1000.00"
    claims = pyjwt.decode(statement["csvUrl"].removeprefix("/downloads/"), link_key(SECRET), algorithms=["HS256"], audience=AUDIENCE)
    assert (claims["sub"], claims["svc"], claims["doc"], claims["fmt"], claims["prm"]) == (ANA, "wallet", "statement", "csv", {"month": month})
    assert 0 < claims["exp"] - claims["iat"] <= 300

    path = f"/internal/documents/statement?format=csv&month={month}"
    async with http.get(path, headers=internal_headers(SECRET, ANA)) as response:
        assert response.status == 200 and response.headers["cache-control"] == "no-store"
        assert response.headers["content-disposition"] == f'attachment; filename="extrato-{month}.csv"'
        assert "Depósito" in (await response.text(encoding="utf-8-sig"))
    async with http.get(path, headers={"x-mybroker-user": ANA}) as response:  # no internal token: a browser, say
        assert response.status == 403
    async with http.get("/internal/documents/statement?format=docx&month=" + month, headers=internal_headers(SECRET, ANA)) as response:
        assert response.status == 404
    async with http.get(path.replace(month, "2999-01"), headers=internal_headers(SECRET, ANA)) as response:
        assert response.status == 422 and (await response.json())["code"] == "BAD_USER_INPUT"
