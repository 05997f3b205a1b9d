"""Session phases and replaces are journaled like orders, so a core rebuilt from the
journal has passed the same auctions and holds the same books."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from b3sim.book import Side
from b3sim.exchange import Exchange, Rules
from b3sim.journal import Journal
from b3sim.market_maker import MakerPolicy
from b3sim.session import Phase
from b3sim.wire import session_phase_envelope
from b3sim.worker import ExchangeWorker
from mybroker.catalog import load_catalog
from mybroker.events import REPLACE_ORDER, Envelope
from tests.unit.b3sim.conftest import Clock, limit


def new_core(session: str) -> Exchange:
    """No maker: the test's own orders make every book and auction."""
    return Exchange(load_catalog(), MakerPolicy(depth=0), session=session, rules=Rules())


def snapshot(core: Exchange) -> dict:
    book = core.book("PETR4")
    return {side: [(p, q, book.queue(side, p)) for p, q, _n in book.depth(side)] for side in Side} | {"phase": core.phase}


async def test_a_replayed_journal_passes_the_same_phases_auctions_and_replaces(journal_db):
    # The clock starts before the pre-opening and moves a second per command.
    journal, clock = Journal(journal_db), Clock(datetime(2026, 11, 24, 12, 50, tzinfo=timezone.utc), timedelta(seconds=1))
    live = ExchangeWorker(None, journal, clock=clock)
    await live.recover(new_core)
    for message in (
        session_phase_envelope(Phase.CLOSED),
        limit("refused", "BUY", "31.00"),  # CLOSED: rejected
        session_phase_envelope(Phase.PRE_OPENING),
        limit("b1", "BUY", "31.50", 300),
        limit("b2", "BUY", "31.40", 200),
        limit("s1", "SELL", "31.30", 200),
        Envelope(REPLACE_ORDER, {"orderId": "b2", "ticker": "PETR4", "quantity": 100, "limitPrice": None}),
        session_phase_envelope(Phase.OPEN),  # the opening auction: s1 trades with b1 at one price
        limit("s2", "SELL", "31.60", 100),
        session_phase_envelope(Phase.CLOSED),  # DAY orders expire
    ):
        await live.on_exchange_order(message)
    assert live.exchange.phase is Phase.CLOSED and len(live.exchange.book("PETR4")) == 0

    rebuilt = ExchangeWorker(None, journal, clock=clock)
    await rebuilt.recover(new_core)
    assert snapshot(rebuilt.exchange) == snapshot(live.exchange)

    # A replay that stops before the close: the auction's leftovers rest identically.
    live_midday, replayed_midday = new_core("x"), new_core("x")
    from b3sim.recovery import replay

    commands = [(entry.message, entry.at) async for entry in journal.commands(after=await journal.replay_after())]
    cut = next(i for i, (m, _at) in enumerate(commands) if m.data.get("orderId") == "s2")
    replay(live_midday, commands[:cut])
    replay(replayed_midday, commands[:cut])
    assert snapshot(replayed_midday) == snapshot(live_midday)
    assert replayed_midday.phase is Phase.OPEN and replayed_midday.book("PETR4").queue(Side.BUY, 3150) == ["b1"]
    assert replayed_midday.book("PETR4").remaining("b1") == 100 and replayed_midday.book("PETR4").remaining("b2") == 100
