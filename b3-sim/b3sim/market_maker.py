"""The market maker's ladder: the bids and asks it keeps around a ticker's reference price,
so a market order always finds liquidity and pays a realistic slippage as it walks the
levels. Pure arithmetic in integer ticks."""
from __future__ import annotations

from dataclasses import dataclass

from b3sim.book import Side


@dataclass(frozen=True)
class MakerPolicy:
    depth: int = 5  # levels per side
    half_spread_bps: int = 5  # best bid/ask distance from the reference
    step_bps: int = 5  # distance between consecutive levels
    lots_per_level: int = 50


@dataclass(frozen=True)
class Level:
    side: Side
    price: int  # ticks
    quantity: int  # shares


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def ladder(reference: int, lot_size: int, policy: MakerPolicy) -> list[Level]:
    """Bids then asks, each best first. Level i sits (half spread + i steps) bps from the
    reference, rounded away from it, and at least one tick beyond the previous level: on
    a cheap stock a few bps are less than a tick, and the levels must stay distinct and
    never touch the reference (the maker never crosses itself)."""
    if reference <= 0 or policy.depth <= 0 or policy.lots_per_level <= 0:
        return []
    quantity = policy.lots_per_level * max(lot_size, 1)
    offsets: list[int] = []
    for i in range(policy.depth):
        wanted = _ceil_div(reference * (policy.half_spread_bps + i * policy.step_bps), 10_000)
        offsets.append(max(wanted, offsets[-1] + 1 if offsets else 1))
    bids = [Level(Side.BUY, reference - offset, quantity) for offset in offsets if reference - offset > 0]
    asks = [Level(Side.SELL, reference + offset, quantity) for offset in offsets]
    return bids + asks
