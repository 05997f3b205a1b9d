"""Traders through the router, as a real client behaves while the platform is failing
under it: sign up, deposit, then place MARKET and LIMIT orders (BUY, and SELL what was
delivered), cancel some of the resting ones. Every placement carries a clientOrderId; a
placement that fails for a reason that is not the trader's (the router or a subgraph
down, INTERNAL_SERVER_ERROR, "ask again") is sent again with the same clientOrderId,
which is what the broker deduplicates on, until it is answered.

A trader keeps its own record (tests.chaos.invariants.Trader): what it deposited and
withdrew, and the order ids the broker answered, to hold against the platform's state."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp

from tests.chaos.invariants import CENT, Trader

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }"
DEPOSIT = "mutation($amount: Decimal!) { deposit(amount: $amount) { available } }"
WITHDRAW = "mutation($amount: Decimal!) { withdraw(amount: $amount) { available } }"
PLACE = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }"
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }"
QUOTE = "query($t: ID!) { asset(ticker: $t) { quote { price } } }"
WALLET = "{ me { wallet { available blocked positions { asset { ticker } quantity blockedQuantity } } } }"
TICKERS = ("PETR4", "VALE3", "ITUB4", "BBDC4")
DEPOSIT_AMOUNT = Decimal("2000000.00")  # enough that cash rarely runs out: refusals are not load
WITHDRAWAL = Decimal("1234.56")
RETRY_PAUSE = 0.2  # a client's back-off between attempts; not synchronisation


class Unavailable(Exception):
    """The request did not get an answer the client can act on; sending it again is right."""


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class Stats:
    placed: int = 0
    filled_seen: int = 0
    retries: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    cancels: int = 0
    sells: int = 0


class ChaosTrader:
    def __init__(self, http: aiohttp.ClientSession, url: str, name: str, seed: int):
        self.http = http
        self.url = url
        self.name = name
        self.random = random.Random(seed)
        self.token: str | None = None
        self.record = Trader(user_id="")
        self.stats = Stats()
        self.resting: list[str] = []
        self.keys = 0

    async def post(self, query: str, variables: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.http.post(self.url, json={"query": query, "variables": variables or {}}, headers=headers) as response:
                body = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise Unavailable(repr(exc)) from None
        if not isinstance(body, dict):
            raise Unavailable(f"HTTP {response.status}: {body!r}")
        if body.get("errors"):
            error = body["errors"][0]
            code = (error.get("extensions") or {}).get("code")
            if code not in _BUSINESS:  # the platform failed, not the request
                raise Unavailable(f"{code}: {error.get('message')}")
            raise Refused(code, error.get("message", ""))
        return body["data"]

    async def until_answered(self, query: str, variables: dict | None = None, timeout: float = 60.0) -> dict:
        """Sends the request again while the platform cannot answer it (bounded)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                return await self.post(query, variables)
            except Unavailable as exc:
                self.stats.retries += 1
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"{self.name}: no answer within {timeout}s: {exc}") from None
                await asyncio.sleep(RETRY_PAUSE)

    # ---------------------------------------------------------------- set-up (no faults yet)

    async def sign_up(self, run: str) -> None:
        email = f"{self.name}-{run}@chaos.example.com"
        data = await self.post(REGISTER, {"input": {"email": email, "password": "chaos horse battery", "name": self.name}})
        self.token = data["register"]["accessToken"]
        self.record.user_id = data["register"]["user"]["id"]
        await self.post(DEPOSIT, {"amount": str(DEPOSIT_AMOUNT)})
        self.record.deposits.append(DEPOSIT_AMOUNT)
        await self.post(WITHDRAW, {"amount": str(WITHDRAWAL)})
        self.record.withdrawals.append(WITHDRAWAL)

    # ---------------------------------------------------------------- under faults

    async def trade(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            roll = self.random.random()
            if roll < 0.10 and self.resting:
                await self.cancel(self.resting.pop(self.random.randrange(len(self.resting))))
            elif roll < 0.50:
                await self.sell_delivered()
            else:
                await self.buy()

    async def buy(self) -> None:
        ticker = self.random.choice(TICKERS)
        if self.random.random() < 0.5:
            await self.place({"ticker": ticker, "side": "BUY", "type": "MARKET", "quantity": 100})
            return
        price = await self.price(ticker)
        if price is None:
            return
        # Half marketable (fills against the maker), half resting below the market.
        factor = Decimal("1.02") if self.random.random() < 0.5 else Decimal("0.90")
        limit = (price * factor).quantize(CENT)
        order_id = await self.place(
            {"ticker": ticker, "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": str(limit), "timeInForce": "GTC"}
        )
        if order_id and factor < 1:
            self.resting.append(order_id)

    async def sell_delivered(self) -> None:
        try:
            data = await self.post(WALLET)
        except Unavailable:
            return
        free = [
            (p["asset"]["ticker"], p["quantity"] - p["blockedQuantity"])
            for p in data["me"]["wallet"]["positions"]
            if p["quantity"] - p["blockedQuantity"] >= 100
        ]
        if not free:
            return
        ticker, _ = self.random.choice(free)
        self.stats.sells += 1
        if self.random.random() < 0.5:
            await self.place({"ticker": ticker, "side": "SELL", "type": "MARKET", "quantity": 100})
            return
        price = await self.price(ticker)
        if price is None:
            return
        factor = Decimal("0.98") if self.random.random() < 0.5 else Decimal("1.10")
        limit = (price * factor).quantize(CENT)
        order_id = await self.place(
            {"ticker": ticker, "side": "SELL", "type": "LIMIT", "quantity": 100, "limitPrice": str(limit), "timeInForce": "GTC"}
        )
        if order_id and factor > 1:
            self.resting.append(order_id)

    async def price(self, ticker: str) -> Decimal | None:
        try:
            quote = (await self.post(QUOTE, {"t": ticker}))["asset"]["quote"]
        except (Unavailable, Refused):
            return None
        return None if quote is None else Decimal(quote["price"])

    async def place(self, order: dict) -> str | None:
        """One placement, sent again with the same clientOrderId until the broker answers
        it; the order id, or None when it was refused (INSUFFICIENT_*: the trader's fault)."""
        self.keys += 1
        order = {**order, "clientOrderId": f"{self.name}-{self.keys}"}
        try:
            data = await self.until_answered(PLACE, {"input": order})
        except Refused as refused:
            self.stats.refused[refused.code] = self.stats.refused.get(refused.code, 0) + 1
            return None
        placed = data["placeOrder"]
        self.record.acknowledged.add(placed["id"])
        self.stats.placed += 1
        return placed["id"]

    async def cancel(self, order_id: str) -> None:
        try:
            await self.until_answered(CANCEL, {"id": order_id})
            self.stats.cancels += 1
        except Refused:
            pass  # already ended (filled, say): nothing to cancel

    async def wallet(self) -> dict:
        return (await self.until_answered(WALLET))["me"]["wallet"]


# Codes that are the trader's own doing: never sent again as they are. Every other error
# (INTERNAL_SERVER_ERROR, SUBGRAPH_UNAVAILABLE, no code at all) is the platform's, and
# sent again. DUPLICATE_CLIENT_ORDER_ID is sent again too: our traders never reuse a key
# with other terms, so it can only be the "not settled yet, ask again" answer to a MARKET
# retry whose first attempt reserved at another price.
_BUSINESS = {
    "BAD_USER_INPUT", "INSUFFICIENT_FUNDS", "INSUFFICIENT_POSITION", "ORDER_NOT_CANCELLABLE", "UNKNOWN_ASSET",
    "FORBIDDEN", "UNAUTHENTICATED",
}
