"""What an order will cost before it is sent (`orderPreview`, the trading screen's ticket):
its value, each of its costs, the total, what the wallet will reserve, and the day its cash
settles.

The figures are the wallet's own: the same fee schedule (Settings.fee_schedule) on the
same price per share the reservation takes (reservation_terms: the limit, or a MARKET
order's protection price), so a BUY's `reserved` is exactly what placing it blocks. The
costs are at swing-trade rates, as a fill is charged until the day's end tells a day trade."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from mybroker.calendar import B3Calendar
from mybroker.errors import DomainError, ErrorCode
from mybroker.fees import Costs, FeeSchedule
from mybroker.trading import OrderSide
from subgraphs.orders.clients import AssetDirectory
from subgraphs.orders.domain import OrderRequest, check_lot, reservation_terms


@dataclass(frozen=True)
class OrderPreview:
    ticker: str
    side: OrderSide
    quantity: int
    price_per_share: Decimal  # the limit, or a MARKET order's protection price
    value: Decimal
    costs: Costs
    reserved: Decimal  # cash the wallet blocks while the order is open
    settlement_date: date

    @property
    def total(self) -> Decimal:
        """A BUY: what it pays (value + costs); a SELL: what it brings (value - costs)."""
        return self.value + self.costs.total if self.side is OrderSide.BUY else self.value - self.costs.total


async def preview_order(
    request: OrderRequest,
    assets: AssetDirectory,
    fees: FeeSchedule,
    collar: Decimal,
    calendar: B3Calendar,
    now: datetime,
) -> OrderPreview:
    """The ticket's figures, with the errors placeOrder would give (BAD_USER_INPUT,
    UNKNOWN_ASSET); funds and shares are not checked: a preview reserves nothing."""
    request = request.validated()
    asset = await assets.asset(request.ticker)
    if not asset.active:
        raise DomainError(ErrorCode.UNKNOWN_ASSET, f"{request.ticker} is not traded.")
    check_lot(request.quantity, asset.lot_size, asset.max_quantity)
    price = reservation_terms(request, asset.last_price, collar).price_per_share
    value = price * request.quantity
    costs = fees.order_costs(value)
    # As the wallet reserves (subgraphs/wallet/domain.py Wallet.reserve): a BUY its value and
    # every cost, a SELL the brokerage its first fill pays (its shares are blocked too).
    reserved = value + costs.total if request.side is OrderSide.BUY else sum(fees.brokerage(), Decimal("0.00"))
    return OrderPreview(
        ticker=request.ticker,
        side=request.side,
        quantity=request.quantity,
        price_per_share=price,
        value=value,
        costs=costs,
        reserved=reserved,
        settlement_date=calendar.settlement_date(calendar.trading_day(now)),
    )
