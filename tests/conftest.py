"""The embedded platform on free ports, and a small GraphQL client that talks to the router."""
from __future__ import annotations

import contextlib
import asyncio
import os
import socket
import uuid
from pathlib import Path
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from launch.platform import Platform
from mybroker.settings import DEFAULT_PORTS, SERVICES, Settings


def pytest_report_header() -> str:
    import b3sim  # imported here: the header is the only thing this conftest needs it for

    return f"b3sim.book: {b3sim.BOOK_BUILD} (B3SIM_PURE_PYTHON=1 forces the source)"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class GraphQLError(AssertionError):
    pass


class Client:
    """One trader's session with the router: keeps the access token once signed in."""

    def __init__(self, http: aiohttp.ClientSession, url: str, address: str | None = None):
        self.http = http
        self.url = url
        self.token: str | None = None
        # The client address the router is told (X-Forwarded-For; the tests' own address is
        # a trusted proxy): a test that fails logins on purpose gives its own, so the login
        # throttle's delay for that address falls on it alone, not on the next test.
        self.address = address

    async def post(self, query: str, variables: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        headers = {"X-Forwarded-For": self.address} if self.address else {}
        bearer = token or self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        async with self.http.post(self.url, json={"query": query, "variables": variables or {}}, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def execute(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        _status, body = await self.post(query, variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    async def error_code(self, query: str, variables: dict | None = None) -> str:
        """The code of the first error; fails the test when the operation succeeds."""
        _status, body = await self.post(query, variables)
        assert body.get("errors"), f"expected an error, got {body}"
        return body["errors"][0]["extensions"]["code"]

    async def until(self, query: str, variables: dict | None, done, timeout: float = 15.0) -> dict[str, Any]:
        """Polls until `done(data)`; the platform is asynchronous behind placeOrder and cancel."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            data = await self.execute(query, variables)
            if done(data):
                return data
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; last answer: {data}")
            await asyncio.sleep(0.05)


def platform_settings(data_dir: Path) -> Settings:
    """The embedded default, or the real engines when MYBROKER_INFRA=real (CI runs both):
    the same story must hold on either."""
    ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS))))
    # The tests' own address is a trusted proxy, so tests/security can give each attack its
    # own X-Forwarded-For address and a locked attacker does not lock the other tests out.
    # No day roll: a run that straddles 18:00 in Brasília must not see its resting DAY orders
    # expire mid-test (tests/unit/b3sim/test_b3sim_day_roll.py holds the roll).
    common = dict(
        data_dir=data_dir, ports=ports, tick_interval=0.2, market_seed=7, trusted_proxies=("127.0.0.1",), day_roll=False
    )
    if os.environ.get("MYBROKER_INFRA") != "real":
        return Settings.from_env(env={}, **common)
    real = Settings.from_env(**common)
    # Fresh databases, topics, queues and consumer groups per run: no run sees another's
    # rows or messages, nor inherits a backlog.
    run = uuid.uuid4().hex[:8]
    databases = {name: f"{real.mysql_url}/mybroker_e2e_{run}_{name}" for name in SERVICES}
    # b3-sim rebuilds its books from its journal at start: a run must not inherit another's.
    databases["b3-sim"] = make_url(real.postgres_url).set(database=f"mybroker_e2e_{run}_b3sim").render_as_string(hide_password=False)
    return real.with_overrides(
        database_urls=databases, mongodb_database=f"mybroker_e2e_{run}", channel_namespace=f"e2e-{run}."
    )


async def drop_databases(settings: Settings) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(settings.mysql_url)
    try:
        async with engine.begin() as connection:
            for name, url in settings.database_urls.items():
                if name != "b3-sim":
                    await connection.execute(text(f"DROP DATABASE IF EXISTS `{url.rsplit('/', 1)[1]}`"))
    finally:
        await engine.dispose()
    from pymongo import AsyncMongoClient

    archive = AsyncMongoClient(settings.mongodb_url, serverSelectionTimeoutMS=5000)
    try:
        await archive.drop_database(settings.mongodb_database)  # ingest's quote history
    finally:
        await archive.close()
    if "b3-sim" in settings.database_urls:  # the journal, on PostgreSQL
        journal = make_url(settings.database_urls["b3-sim"])
        server = create_async_engine(journal.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with server.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{journal.database}" WITH (FORCE)'))
        except Exception as exc:  # noqa: BLE001 - FORCE may be refused another role's backend; a leftover is harmless
            print(f"could not drop {journal.database}: {exc!r}")
        finally:
            await server.dispose()


EXCHANGE_READY = (
    '{ a: asset(ticker: "PETR4") { quote { time } book { asks { price } } }'
    ' b: asset(ticker: "WEGE3") { quote { time } book { asks { price } } } }'
)


async def until_the_exchange_quotes(router_url: str, timeout: float = 90.0) -> None:
    """Waits until b3-sim has reference prices, so market orders can trade, and assets has
    a quote of its own (the same feed through another consumer group): on freshly started
    engines a market-data consumer can join Kafka well after the feed began."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.post(router_url, json={"query": EXCHANGE_READY}) as response:
                data = (await response.json(content_type=None)).get("data") or {}
            if all((data.get(key) or {}).get("book", {}).get("asks") and data[key]["quote"] for key in ("a", "b")):
                return
            assert asyncio.get_running_loop().time() < deadline, f"the exchange quoted nothing in {timeout}s: {data}"
            await asyncio.sleep(0.2)


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def platform(tmp_path_factory) -> Platform:
    # Fees off: the stories on this platform are about orders, money flows and the API, and
    # count cash without costs. The product's default (fees on) runs on a platform of its own
    # in tests/e2e/test_costs.py.
    async with own_platform(platform_settings(tmp_path_factory.mktemp("platform")).with_overrides(fees=False)) as running:
        yield running


@contextlib.asynccontextmanager
async def own_platform(settings) -> AsyncIterator[Platform]:
    """A platform on `settings`, started and quoting; stopped (its real databases dropped)
    on the way out. For tests whose story needs settings of its own."""
    running = Platform(settings)
    await running.start()
    try:
        await until_the_exchange_quotes(running.settings.graphql_url("router"))
        yield running
    finally:
        await running.stop()
        if settings.infra == "real":
            await drop_databases(settings)


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def http() -> aiohttp.ClientSession:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def new_client(platform: Platform, http: aiohttp.ClientSession):
    return lambda address=None: Client(http, platform.router_url, address)
