"""Reports use cases: the portfolio projection (fed by order events and market data) and
the portfolio query."""
from __future__ import annotations

import logging
from decimal import Decimal

import orjson
from sqlalchemy.exc import IntegrityError

from mybroker.auth import Caller
from mybroker.cache import Cache
from mybroker.db import Database, utc_now
from mybroker.errors import forbidden
from mybroker.events import Envelope, iso, parse_iso
from mybroker.fees import NO_FEES, FeeSchedule
from mybroker.wire import OrderUpdated, Quote
from subgraphs.reports import repository
from subgraphs.reports.domain import Fill, Holding, PortfolioValue, apply_fill, value_portfolio
from subgraphs.reports.wire import fill_of

log = logging.getLogger("mybroker.reports")

CONSUMER = "reports"  # inbox name of the order-events consumer


def price_key(ticker: str) -> str:
    return f"reports:price:{ticker}"


class ReportsService:
    def __init__(self, db: Database, cache: Cache, fees: FeeSchedule = NO_FEES):
        self.db = db
        self.cache = cache
        self.fees = fees  # the wallet's schedule (Settings.fee_schedule): the same costs, counted alike

    async def apply_order_update(self, message: Envelope) -> bool:
        """Folds the fill an OrderUpdated carries into the user's holding, once per envelope
        (inbox) and once per execution (fills). True when it changed the projection."""
        fill = fill_of(OrderUpdated.of(message))
        if fill is None:
            return False
        async with self.db.transaction() as tx:
            if not await tx.first_time(CONSUMER, message.id):
                return False
            return await self._fold(tx, fill)

    async def record_fill(self, fill: Fill) -> bool:
        """The same fold, handed over by orders before the order shows the fill (read your
        writes); the order event that follows finds it done."""
        try:
            async with self.db.transaction() as tx:
                return await self._fold(tx, fill)
        except IntegrityError:
            return False  # the order event's consumer folded it at the same moment

    async def _fold(self, tx, fill: Fill) -> bool:
        if await repository.fill_recorded(tx.session, fill.execution_id):
            return False
        # The fill's costs as the wallet charged them: the same schedule on the same order's
        # fills so far (an order's fills arrive in sequence, per_key), swing-trade rates.
        costs = self.fees.fill_costs(await repository.traded_before(tx.session, fill.order_id), fill.value)
        await repository.add_fill(tx.session, fill)
        before = await repository.holding_for_update(tx.session, fill.user_id, fill.ticker)
        after = apply_fill(Holding() if before is None else before, fill.side, fill.quantity, fill.price, costs.total)
        if before is None:
            await repository.add_holding(tx.session, fill.user_id, fill.ticker, after, utc_now())
        else:
            await repository.save_holding(tx.session, fill.user_id, fill.ticker, after, utc_now())
        return True

    async def record_price(self, message: Envelope) -> None:
        """Keeps the latest price per ticker. Newer wins, so redelivery needs no inbox."""
        quote = Quote.of(message)
        ticker = quote.ticker.upper()
        cached = await self.cache.get(price_key(ticker))
        if cached is not None and parse_iso(orjson.loads(cached)["time"]) > quote.time:
            return
        await self.cache.set(price_key(ticker), orjson.dumps({"price": str(quote.price), "time": iso(quote.time)}))

    async def portfolio(self, caller: Caller, user_id: str) -> PortfolioValue:
        """The caller's own portfolio only."""
        if caller.require_user() != str(user_id):
            raise forbidden("This portfolio belongs to someone else.")
        async with self.db.read() as session:
            holdings = await repository.holdings_of(session, str(user_id))
        open_tickers = sorted(t for t, holding in holdings.items() if holding.quantity != 0)
        cached = await self.cache.get_many([price_key(t) for t in open_tickers])
        prices = {t: None if raw is None else Decimal(orjson.loads(raw)["price"]) for t, raw in zip(open_tickers, cached)}
        return value_portfolio(holdings, prices)
