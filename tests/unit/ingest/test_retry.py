import random
from datetime import datetime, timezone

from ingest.retry import Backoff, parse_retry_after

NOW = datetime(2025, 10, 17, 20, 10, tzinfo=timezone.utc)


def test_backoff_is_jittered_below_an_exponential_cap():
    backoff = Backoff(base=0.5, cap=4.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread over the whole range


def test_retry_after_is_the_minimum_wait():
    backoff = Backoff(base=0.5)
    delays = [backoff.delay(1, random.Random(seed), retry_after=3.0) for seed in range(50)]
    assert all(3.0 <= d <= 3.5 for d in delays) and len(set(delays)) > 1


def test_same_seed_same_waits():
    backoff = Backoff()
    first = [backoff.delay(a, r) for r in [random.Random(7)] for a in range(1, 6)]
    again = [backoff.delay(a, r) for r in [random.Random(7)] for a in range(1, 6)]
    assert first == again


def test_parse_retry_after():
    assert parse_retry_after("2", NOW) == 2.0
    assert parse_retry_after("Fri, 17 Oct 2025 20:10:30 GMT", NOW) == 30.0
    assert parse_retry_after("Fri, 17 Oct 2025 20:00:00 GMT", NOW) == 0.0  # already past
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("-3", NOW) is None
