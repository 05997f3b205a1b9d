"""The market maker's ladder around a reference price."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from b3sim.book import Side
from b3sim.market_maker import MakerPolicy, ladder
from b3sim.config import maker_policy_from_settings
from mybroker.settings import Settings


def sides(levels):
    return [l.price for l in levels if l.side is Side.BUY], [l.price for l in levels if l.side is Side.SELL]


def test_levels_sit_half_a_spread_then_one_step_apart_in_basis_points():
    policy = MakerPolicy(depth=3, half_spread_bps=5, step_bps=10, lots_per_level=2)
    levels = ladder(20_000, 100, policy)  # R$200.00: 1 bp = 2 ticks
    bids, asks = sides(levels)
    assert bids == [19_990, 19_970, 19_950]  # 5, 15, 25 bp below, best first
    assert asks == [20_010, 20_030, 20_050]
    assert {l.quantity for l in levels} == {200}  # 2 lots of 100


def test_a_cheap_stock_still_gets_distinct_levels_one_tick_apart():
    bids, asks = sides(ladder(250, 100, MakerPolicy(depth=4, half_spread_bps=5, step_bps=5, lots_per_level=1)))
    assert bids == [249, 248, 247, 246] and asks == [251, 252, 253, 254]


def test_bids_never_reach_zero():
    bids, asks = sides(ladder(3, 1, MakerPolicy(depth=5, half_spread_bps=5, step_bps=5, lots_per_level=1)))
    assert bids == [2, 1] and asks == [4, 5, 6, 7, 8]


def test_the_policy_comes_from_settings():
    settings = Settings(mm_depth=2, mm_half_spread_bps=7, mm_step_bps=3, mm_lots_per_level=9)
    assert maker_policy_from_settings(settings) == MakerPolicy(2, 7, 3, 9)


def test_nothing_to_quote_without_a_price_or_depth():
    assert ladder(0, 100, MakerPolicy()) == [] and ladder(3140, 100, MakerPolicy(depth=0)) == []


@given(
    reference=st.integers(min_value=1, max_value=10_000_000),
    lot=st.sampled_from([1, 10, 100]),
    depth=st.integers(min_value=1, max_value=10),
    half=st.integers(min_value=0, max_value=500),
    step=st.integers(min_value=0, max_value=500),
)
def test_the_ladder_never_crosses_itself_and_widens_monotonically(reference, lot, depth, half, step):
    levels = ladder(reference, lot, MakerPolicy(depth, half, step, 3))
    bids, asks = sides(levels)
    assert len(asks) == depth and len(bids) <= depth and all(b > 0 for b in bids)
    assert all(b < reference for b in bids) and all(a > reference for a in asks)
    assert bids == sorted(set(bids), reverse=True) and asks == sorted(set(asks))
    # Each level is at least its basis points away from the reference.
    for i, ask in enumerate(asks):
        assert (ask - reference) * 10_000 >= reference * (half + i * step)
    assert all(l.quantity == 3 * lot for l in levels)
