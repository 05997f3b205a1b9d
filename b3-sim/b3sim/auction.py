"""The auction price: where a crossed book is uncrossed at the end of an auction phase.
Pure arithmetic in integer ticks; Book.uncross executes at the price it picks.

B3's rule: the price that executes the most quantity, then the one that leaves the
smallest imbalance (unmatched quantity at that price), then the one closest to the
reference (last) price. Candidates are the limit prices inside the crossed range and the
reference itself when it lies there; a tie that survives all three goes to the lower
price, so the choice is always deterministic."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Iterable


@dataclass(frozen=True)
class AuctionPrice:
    price: int
    volume: int  # shares that trade at `price`
    imbalance: int  # demand minus supply at `price` (positive: buyers left over)


def auction_price(
    bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]], reference: int | None = None
) -> AuctionPrice | None:
    """`bids` and `asks` are (price, quantity) per level, in any order. None when the book
    is not crossed (nothing would trade)."""
    bid_levels = sorted((p, q) for p, q in bids if q > 0)
    ask_levels = sorted((p, q) for p, q in asks if q > 0)
    if not bid_levels or not ask_levels or bid_levels[-1][0] < ask_levels[0][0]:
        return None
    low, high = ask_levels[0][0], bid_levels[-1][0]
    bid_prices = [p for p, _ in bid_levels]
    ask_prices = [p for p, _ in ask_levels]
    # Demand at p: bids priced at p or higher (suffix sums); supply: asks at p or lower.
    bid_cum = list(accumulate(q for _, q in bid_levels))
    bid_total = bid_cum[-1]
    ask_cum = list(accumulate(q for _, q in ask_levels))

    candidates = {p for p in bid_prices + ask_prices if low <= p <= high}
    if reference is not None and low <= reference <= high:
        candidates.add(reference)

    best: tuple | None = None
    for price in candidates:
        below = bisect_left(bid_prices, price)
        demand = bid_total - (bid_cum[below - 1] if below else 0)
        at_or_below = bisect_right(ask_prices, price)
        supply = ask_cum[at_or_below - 1] if at_or_below else 0
        volume = min(demand, supply)
        distance = abs(price - reference) if reference is not None else 0
        rank = (-volume, abs(demand - supply), distance, price)
        if best is None or rank < best[0]:
            best = (rank, AuctionPrice(price, volume, demand - supply))
    assert best is not None
    return best[1]
