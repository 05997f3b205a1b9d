"""What the settings make of the exchange: its rules and its market maker's policy.

The core (exchange, book, auction, session, market_maker) takes these as values and reads
no settings, so it stays a pure function of its commands; the wiring (b3sim.app) and tools
that build a core the way b3-sim does (the chaos cluster's rebuild) read them here."""
from __future__ import annotations

from decimal import Decimal

from b3sim.book import SelfTrade
from b3sim.exchange import Rules
from b3sim.market_maker import MakerPolicy
from b3sim.session import Phase
from mybroker.settings import Settings


def rules_from_settings(settings: Settings, phase: Phase = Phase.OPEN) -> Rules:
    """The exchange's rules as configured (MYBROKER_PRICE_BAND_PERCENT,
    MYBROKER_SELF_TRADE_PREVENTION); `phase`: where the session clock says we are."""
    return Rules(Decimal(settings.price_band_percent), SelfTrade(settings.self_trade_prevention), phase)


def maker_policy_from_settings(settings: Settings) -> MakerPolicy:
    """The market maker's ladder as configured (MYBROKER_MM_DEPTH, _HALF_SPREAD_BPS,
    _STEP_BPS, _LOTS_PER_LEVEL)."""
    return MakerPolicy(settings.mm_depth, settings.mm_half_spread_bps, settings.mm_step_bps, settings.mm_lots_per_level)
