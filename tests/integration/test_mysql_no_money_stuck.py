"""The SQL of "no money stuck" on MySQL (MariaDB here), on migrated databases: the orders
service's lost-order check racing real saves on InnoDB's unique keys, racing clientOrderId
placements, the wallet sweeper's keyset query, and the reconciliation's live-order query.

The tests are the unit tests' own, collected here again with `harness` and `env` on MySQL."""
from __future__ import annotations

import pytest_asyncio

from mybroker.bus.memory import MemoryBus
from mybroker.db import Database
from mybroker.events import ORDER_EVENTS
from mybroker.live import LiveFeed
from launch.registry import migrations_dir
from subgraphs.orders.service import OrderService
from subgraphs.orders.tables import metadata as orders_metadata
from tests.integration.test_mysql_stores import fresh_database  # noqa: F401 - a fixture
from tests.unit.orders.conftest import COLLAR, FakeAssets, FakeWallet, Harness
from tests.unit.orders.test_order_idempotency import (  # noqa: F401 - collected here, on MySQL
    test_a_racing_attempt_with_other_terms_is_refused_and_leaves_the_winner_whole,
    test_a_retry_after_a_failed_save_reuses_the_first_reservation,
    test_a_save_that_comes_after_the_check_fails_and_says_why,
    test_concurrent_checks_and_saves_always_agree,
    test_the_check_closes_a_missing_order_for_good,
    test_two_racing_attempts_make_one_order_and_never_release_its_money,
)
from tests.unit.orders.test_reconcile import (  # noqa: F401
    test_a_pass_asks_b3_about_every_live_order_through_the_outbox,
    test_a_pass_pages_through_many_orders,
)
from tests.unit.wallet.test_wallet_sweeper import (  # noqa: F401
    close_env,
    open_env,
    test_a_placement_stuck_past_the_grace_loses_to_the_sweeper_and_its_money_is_freed,
    test_a_reservation_with_no_order_is_released_after_its_grace,
    test_a_reservation_with_its_order_is_confirmed_once_and_never_released,
    test_sweeps_racing_placements_never_free_a_live_orders_money,
    test_the_sweep_pages_through_many_reservations,
)


@pytest_asyncio.fixture
async def harness(fresh_database) -> Harness:  # noqa: F811
    bus = MemoryBus()
    db = Database(fresh_database(), orders_metadata)
    assert db.engine.dialect.name == "mysql"
    await db.migrate(migrations_dir("orders"))
    assets, wallet = FakeAssets(), FakeWallet(shares={"PETR4": 300})
    service = OrderService(db, assets, wallet, market_order_collar=COLLAR, live=LiveFeed(bus, ORDER_EVENTS))
    yield Harness(service, db, assets, wallet, bus)
    await bus.stop()
    await db.dispose()


@pytest_asyncio.fixture
async def env(fresh_database):  # noqa: F811
    env = await open_env(fresh_database(), fresh_database(), migrate=True)
    assert env.wallet_db.engine.dialect.name == env.orders_db.engine.dialect.name == "mysql"
    yield env
    await close_env(env)
