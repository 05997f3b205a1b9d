"""What a trader may ask for, and what a reservation blocks (pure rules)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mybroker.errors import DomainError, ErrorCode
from mybroker.money import CENT
from subgraphs.orders.domain import OrderRequest, OrderSide, OrderType, TimeInForce, check_lot, reservation_terms

COLLAR = Decimal("0.05")


def limit(qty=100, price="31.40", **kw) -> OrderRequest:
    return OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, qty, Decimal(price) if price is not None else None, **kw)


def market(side=OrderSide.BUY, qty=100, **kw) -> OrderRequest:
    return OrderRequest("PETR4", side, OrderType.MARKET, qty, **kw)


def code_of(call) -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


def test_a_valid_request_is_normalised():
    request = OrderRequest(" petr4 ", OrderSide.BUY, OrderType.LIMIT, 100, Decimal("31.4"), None, " key-1 ").validated()
    assert request.ticker == "PETR4" and request.limit_price == Decimal("31.40")
    assert request.time_in_force is TimeInForce.DAY and request.client_order_id == "key-1"


@pytest.mark.parametrize(
    "request_",
    [
        limit(qty=0),
        limit(qty=-100),
        limit(price=None),
        limit(price="0"),
        limit(price="-1.00"),
        limit(price="31.405"),
        limit(price="10000000.00"),
        OrderRequest("PETR4", OrderSide.BUY, OrderType.MARKET, 100, Decimal("30.00")),
        limit(client_order_id="x" * 65),
        limit(client_order_id="   "),
    ],
)
def test_bad_requests_are_bad_user_input(request_):
    assert code_of(request_.validated) is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize("ticker", ["", "PETR4/../x", "pe tr", "A" * 13])
def test_a_ticker_that_cannot_exist_is_an_unknown_asset(ticker):
    assert code_of(OrderRequest(ticker, OrderSide.BUY, OrderType.MARKET, 100).validated) is ErrorCode.UNKNOWN_ASSET


def test_quantity_must_be_whole_lots():
    check_lot(300, 100)
    check_lot(7, 1)
    assert code_of(lambda: check_lot(150, 100)) is ErrorCode.BAD_USER_INPUT


def test_a_limit_order_reserves_at_its_limit_and_has_no_protection():
    terms = reservation_terms(limit(price="12.34").validated(), Decimal("99.00"), COLLAR)
    assert (terms.price_per_share, terms.protection_price) == (Decimal("12.34"), None)


def test_a_market_buy_reserves_last_price_plus_collar_rounded_up():
    terms = reservation_terms(market(), Decimal("31.43"), COLLAR)
    # 31.43 x 1.05 = 33.0015: rounding up keeps every share's worst price covered.
    assert terms.price_per_share == Decimal("33.01") == terms.protection_price


def test_a_market_sell_is_protected_one_collar_below_the_last_price():
    terms = reservation_terms(market(OrderSide.SELL), Decimal("31.43"), COLLAR)
    assert terms.protection_price == Decimal("29.86")  # 31.43 x 0.95 = 29.8585


def test_a_market_order_without_a_market_price_is_refused():
    assert code_of(lambda: reservation_terms(market(), None, COLLAR)) is ErrorCode.BAD_USER_INPUT


@given(
    last=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
    collar=st.decimals(min_value=Decimal("0"), max_value=Decimal("0.5"), places=4),
)
def test_market_buy_protection_always_covers_the_collar(last, collar):
    terms = reservation_terms(market(), last, collar)
    assert terms.price_per_share >= last * (1 + collar) > terms.price_per_share - CENT
    assert terms.price_per_share == terms.price_per_share.quantize(CENT)
