"""Rate limits at the router (router/rate_limit.py): the token-bucket maths on a fake clock,
which buckets a caller draws from, failing open when the store is down, and the edge's
answers (HTTP 429 with Retry-After and RATE_LIMITED, over POST, SSE and WebSocket),
their settings and their metric."""
from __future__ import annotations

import json
import logging

import aiohttp
import pytest
import websockets

from router.auth import ANONYMOUS, Caller
from launch.production import PRODUCTION_RATE_LIMITS, production_router_options
from router.options import config_fields, defaults, options_from_env, with_overrides
from router.rate_limit import (
    Bucket,
    BucketStoreUnavailable,
    MemoryBucketStore,
    RateLimiter,
    RateLimits,
    whole_seconds,
)

from .edge_support import edge_router
from .test_router_http import authenticator_for, rsa_key, token

QUERY = {"query": "{ warehouseCount }"}
OFF = Bucket(0, 0)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limits(**buckets: Bucket) -> RateLimits:
    """Every bucket off but the ones given."""
    return RateLimits(**{"ip": OFF, "user": OFF, "ip_total": OFF, "ip_cost": OFF, "user_cost": OFF, **buckets})


def limiter(clock: Clock, **buckets: Bucket) -> RateLimiter:
    return RateLimiter(limits(**buckets), MemoryBucketStore(), clock=clock)


@pytest.fixture(scope="module")
def signing_key():
    return rsa_key()


USER = Caller("7")
OTHER_USER = Caller("8")
ADDRESS, OTHER_ADDRESS = "198.51.100.7", "198.51.100.8"


# ------------------------------------------------------------ the bucket maths


async def test_a_full_bucket_serves_its_burst_then_refuses_with_the_time_to_the_next_token():
    clock = Clock()
    buckets = limiter(clock, ip=Bucket(2, 3))
    for _ in range(3):
        assert await buckets.admit(ANONYMOUS, ADDRESS) is None
    refused = await buckets.admit(ANONYMOUS, ADDRESS)
    assert refused is not None and refused.scope == "ip"
    assert refused.retry_after == pytest.approx(0.5)  # 2 tokens a second: the next in 0.5 s
    assert refused.seconds == 1


async def test_tokens_flow_back_at_the_rate_up_to_the_burst():
    clock = Clock()
    buckets = limiter(clock, ip=Bucket(1, 2))
    assert [await buckets.admit(ANONYMOUS, ADDRESS) is None for _ in range(3)] == [True, True, False]
    clock.now += 0.5
    assert (await buckets.admit(ANONYMOUS, ADDRESS)).retry_after == pytest.approx(0.5)
    clock.now += 0.5
    assert await buckets.admit(ANONYMOUS, ADDRESS) is None
    clock.now += 3600  # a long quiet fills the bucket to its burst, no further
    assert [await buckets.admit(ANONYMOUS, ADDRESS) is None for _ in range(3)] == [True, True, False]


async def test_a_refused_request_costs_nothing():
    clock = Clock()
    buckets = limiter(clock, ip=Bucket(1, 1))
    assert await buckets.admit(ANONYMOUS, ADDRESS) is None
    for _ in range(50):  # hammering while empty does not push the next token further away
        assert await buckets.admit(ANONYMOUS, ADDRESS) is not None
    clock.now += 1.0
    assert await buckets.admit(ANONYMOUS, ADDRESS) is None


async def test_all_of_a_requests_buckets_or_none():
    clock = Clock()
    buckets = limiter(clock, user=Bucket(1, 3), ip_total=Bucket(1, 2))
    assert await buckets.admit(USER, ADDRESS) is None
    assert await buckets.admit(OTHER_USER, ADDRESS) is None
    refused = await buckets.admit(USER, ADDRESS)
    assert refused.scope == "ip_total"
    # The address refused it, so the user's bucket was not charged: 2 of 3 are left.
    scopes = [await buckets.admit(USER, OTHER_ADDRESS) for _ in range(3)]
    assert [refusal and refusal.scope for refusal in scopes] == [None, None, "user"]


@pytest.mark.parametrize("wait, seconds", [(0.0, 1), (0.01, 1), (1.0, 1), (1.0 + 1e-12, 1), (1.01, 2), (59.2, 60)])
def test_retry_after_is_whole_seconds_rounded_up_and_never_zero(wait, seconds):
    assert whole_seconds(wait) == seconds


async def test_a_cost_larger_than_the_bucket_waits_for_a_full_bucket_not_forever():
    clock = Clock()
    buckets = limiter(clock, ip_cost=Bucket(10, 100))
    assert await buckets.consume(ANONYMOUS, ADDRESS, 500) is None  # takes the whole bucket
    refused = await buckets.consume(ANONYMOUS, ADDRESS, 500)
    assert refused.scope == "ip_cost" and refused.retry_after == pytest.approx(10.0)
    clock.now += 10
    assert await buckets.consume(ANONYMOUS, ADDRESS, 500) is None


async def test_a_clock_behind_the_buckets_refills_nothing():
    clock = Clock()
    buckets = limiter(clock, ip=Bucket(1, 1))
    assert await buckets.admit(ANONYMOUS, ADDRESS) is None
    clock.now -= 30  # another host's clock, behind
    assert await buckets.admit(ANONYMOUS, ADDRESS) is not None
    clock.now += 31
    assert await buckets.admit(ANONYMOUS, ADDRESS) is None


async def test_zero_per_second_is_no_limit_and_disabled_is_no_limits():
    clock = Clock()
    unlimited = limiter(clock)
    assert all([await unlimited.admit(ANONYMOUS, ADDRESS) is None for _ in range(1000)])
    off = RateLimiter(RateLimits(enabled=False, ip=Bucket(1, 1)), MemoryBucketStore(), clock=clock)
    assert all([await off.admit(ANONYMOUS, ADDRESS) is None for _ in range(10)])


# ------------------------------------------------------------ keys


async def test_signed_in_callers_are_keyed_by_user_and_anonymous_ones_by_address():
    clock = Clock()
    buckets = limiter(clock, ip=Bucket(1, 1), user=Bucket(1, 1))
    assert RateLimiter.owner(USER, ADDRESS) == ("user", "7")
    assert RateLimiter.owner(ANONYMOUS, ADDRESS) == ("ip", ADDRESS)
    assert await buckets.admit(USER, ADDRESS) is None
    assert (await buckets.admit(USER, OTHER_ADDRESS)).scope == "user"  # the same trader elsewhere
    assert await buckets.admit(OTHER_USER, ADDRESS) is None  # another trader at the same address
    assert await buckets.admit(ANONYMOUS, ADDRESS) is None  # the address's anonymous bucket is its own
    assert (await buckets.admit(ANONYMOUS, ADDRESS)).scope == "ip"
    assert await buckets.admit(ANONYMOUS, OTHER_ADDRESS) is None


async def test_the_wider_address_bucket_stops_one_address_with_many_accounts():
    clock = Clock()
    buckets = limiter(clock, user=Bucket(1, 2), ip_total=Bucket(1, 10))
    admitted = [await buckets.admit(Caller(str(n)), ADDRESS) is None for n in range(20)]
    assert admitted == [True] * 10 + [False] * 10
    assert await buckets.admit(Caller("99"), OTHER_ADDRESS) is None


async def test_consume_charges_the_callers_cost_bucket():
    clock = Clock()
    buckets = limiter(clock, user=Bucket(100, 100), user_cost=Bucket(10, 30))
    assert await buckets.admit(USER, ADDRESS) is None  # 1 of cost with the operation
    assert await buckets.consume(USER, ADDRESS, 29) is None
    refused = await buckets.admit(USER, ADDRESS)
    assert refused.scope == "user_cost" and refused.retry_after == pytest.approx(0.1)
    assert await buckets.admit(USER, ADDRESS, cost=None) is not None
    clock.now += 0.5
    assert await buckets.admit(USER, ADDRESS, cost=5) is None


async def test_the_memory_store_stays_bounded():
    clock = Clock()
    store = MemoryBucketStore(max_entries=100)
    buckets = RateLimiter(limits(ip=Bucket(1, 5)), store, clock=clock)
    for n in range(1000):
        await buckets.admit(ANONYMOUS, f"203.0.113.{n}")
        clock.now += 0.001
    assert len(store) <= 100


# ------------------------------------------------------------ the store failing


class FailingStore(MemoryBucketStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.asked = 0

    async def draw(self, draws, now):
        self.asked += 1
        if self.down:
            raise BucketStoreUnavailable("ConnectionError: Redis is down")
        return await super().draw(draws, now)


async def test_an_unreachable_store_lets_traffic_through_and_logs_the_outage_once(caplog):
    clock = Clock()
    store = FailingStore()
    buckets = RateLimiter(limits(ip=Bucket(1, 1)), store, clock=clock, retry_seconds=1.0)
    with caplog.at_level(logging.WARNING, logger="router.rate_limit"):
        assert all([await buckets.admit(ANONYMOUS, ADDRESS) is None for _ in range(100)])
        assert store.asked == 1  # not asked again for a second: a hanging Redis costs one timeout a second
        clock.now += 1.0
        await buckets.admit(ANONYMOUS, ADDRESS)
        assert store.asked == 2
        store.down = False
        clock.now += 1.0
        assert await buckets.admit(ANONYMOUS, ADDRESS) is None  # back: limited again
        assert await buckets.admit(ANONYMOUS, ADDRESS) is not None
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert "rate limit store" in lines[0] and "Redis is down" in lines[0]
    assert "recovered after 101 failures" in lines[1]


# ------------------------------------------------------------ at the edge


def config(clock: Clock, trusted=frozenset({"127.0.0.1"}), **buckets: Bucket) -> dict:
    return {"rate_limits": limits(**buckets), "rate_limit_clock": clock, "trusted_proxies": trusted}


async def post_from(url: str, address: str | None, payload=QUERY, headers: dict | None = None):
    """POST /graphql, with X-Forwarded-For `address` (believed when 127.0.0.1 is a trusted proxy)."""
    headers = dict(headers or {})
    if address:
        headers["X-Forwarded-For"] = address
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/graphql", json=payload, headers=headers) as response:
            return response.status, response.headers, await response.json()


async def test_an_empty_bucket_is_http_429_with_retry_after_and_rate_limited(supergraph, store):
    clock = Clock()
    async with edge_router(supergraph, store, **config(clock, ip=Bucket(0.25, 2))) as (url, _):
        for _ in range(2):
            status, _headers, body = await post_from(url, ADDRESS)
            assert status == 200 and body == {"data": {"warehouseCount": 3}}
        status, headers, body = await post_from(url, ADDRESS)
        assert status == 429 and headers["Retry-After"] == "4"
        assert body == {"errors": [{
            "message": "Too many requests from this address; try again in 4 s.",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": 4},
        }]}
        assert "data" not in body
        status, _headers, _body = await post_from(url, OTHER_ADDRESS)
        assert status == 200  # another address has a bucket of its own
        clock.now += 4
        assert (await post_from(url, ADDRESS))[0] == 200


async def test_forwarded_for_from_an_untrusted_peer_does_not_open_a_new_bucket(supergraph, store):
    clock = Clock()
    async with edge_router(supergraph, store, **config(clock, frozenset(), ip=Bucket(1, 3))) as (url, _):
        statuses = [(await post_from(url, f"203.0.113.{n}"))[0] for n in range(6)]
        assert statuses == [200, 200, 200, 429, 429, 429]  # all of them are 127.0.0.1's


async def test_signed_in_callers_have_their_own_buckets(supergraph, store, signing_key):
    clock = Clock()
    edge = config(clock, ip=Bucket(1, 1), user=Bucket(1, 2))
    async with edge_router(supergraph, store, authenticator=authenticator_for(signing_key), **edge) as (url, _):
        ada = {"Authorization": f"Bearer {token(signing_key, sub='1')}"}
        alan = {"Authorization": f"Bearer {token(signing_key, sub='2')}"}
        assert [(await post_from(url, ADDRESS, headers=ada))[0] for _ in range(3)] == [200, 200, 429]
        status, _headers, body = await post_from(url, ADDRESS, headers=ada)
        assert status == 429 and "this account" in body["errors"][0]["message"]
        assert (await post_from(url, ADDRESS, headers=alan))[0] == 200
        assert [(await post_from(url, ADDRESS))[0] for _ in range(2)] == [200, 429]  # anonymous: the address


async def test_a_bad_token_is_charged_as_an_anonymous_request(supergraph, store, signing_key):
    clock = Clock()
    async with edge_router(supergraph, store, authenticator=authenticator_for(signing_key), **config(clock, ip=Bucket(1, 2))) as (url, _):
        forged = {"Authorization": "Bearer not-a-token"}
        statuses = [(await post_from(url, ADDRESS, headers=forged))[0] for _ in range(3)]
        assert statuses == [401, 401, 429]
        assert (await post_from(url, ADDRESS))[0] == 429  # the same address's bucket


async def test_sse_requests_are_limited_too(supergraph, store):
    clock = Clock()
    async with edge_router(supergraph, store, **config(clock, ip=Bucket(1, 1))) as (url, _):
        sse = {"Accept": "text/event-stream"}
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/graphql", json=QUERY, headers={**sse, "X-Forwarded-For": ADDRESS}) as response:
                assert response.status == 200 and "warehouseCount" in await response.text()
            async with session.post(url + "/graphql", json=QUERY, headers={**sse, "X-Forwarded-For": ADDRESS}) as response:
                assert response.status == 429 and response.headers["Retry-After"] == "1"
                assert (await response.json())["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_refused_websocket_subscribe_gets_an_error_and_the_connection_stays_open(supergraph, store):
    clock = Clock()
    async with edge_router(supergraph, store, **config(clock, ip=Bucket(0.5, 1))) as (url, _):
        ws_url = url.replace("http", "ws") + "/graphql"
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"],
                                      additional_headers={"X-Forwarded-For": ADDRESS}) as ws:

            async def send(message: dict) -> None:
                await ws.send(json.dumps(message))

            async def receive() -> dict:
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] != "ping":
                        return message

            await send({"type": "connection_init", "payload": {}})
            assert await receive() == {"type": "connection_ack"}
            await send({"id": "1", "type": "subscribe", "payload": QUERY})
            assert await receive() == {"id": "1", "type": "next", "payload": {"data": {"warehouseCount": 3}}}
            assert await receive() == {"id": "1", "type": "complete"}
            await send({"id": "2", "type": "subscribe", "payload": QUERY})
            assert await receive() == {"id": "2", "type": "error", "payload": [{
                "message": "Too many requests from this address; try again in 2 s.",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": 2},
            }]}
            clock.now += 2
            await send({"id": "3", "type": "subscribe", "payload": QUERY})
            assert (await receive())["type"] == "next"  # the same connection, served again


async def test_refusals_are_counted_in_metrics_by_scope(supergraph, store, signing_key):
    clock = Clock()
    edge = config(clock, ip=Bucket(1, 1), user=Bucket(1, 1))
    async with edge_router(supergraph, store, authenticator=authenticator_for(signing_key), **edge) as (url, _):
        signed_in = {"Authorization": f"Bearer {token(signing_key)}"}
        for headers in ({}, {}, signed_in, signed_in):
            await post_from(url, ADDRESS, headers=headers)
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/metrics") as response:
                text = await response.text()
    assert 'router_rate_limited_total{scope="ip"} 1.0' in text
    assert 'router_rate_limited_total{scope="user"} 1.0' in text
    assert 'router_errors_total{code="RATE_LIMITED"} 2.0' in text


async def test_the_development_defaults_let_a_benchmark_burst_through(supergraph, store):
    """wrk's thousands of requests a second from one address: far under the defaults."""
    clock = Clock()
    async with edge_router(supergraph, store, rate_limit_clock=clock) as (url, app):
        limiter = app.state.rate_limiter
        assert all([await limiter.admit(ANONYMOUS, "127.0.0.1") is None for _ in range(15_000)])
        assert all([await limiter.admit(Caller(str(n % 50)), "127.0.0.1") is None for n in range(15_000)])
        assert (await post_from(url, None))[0] == 200


# ------------------------------------------------------------ settings


def test_rate_limit_settings_from_the_environment_and_flags():
    options = options_from_env({
        "MYBROKER_ROUTER_RATE_LIMIT": "off",
        "MYBROKER_ROUTER_RATE_LIMIT_IP_PER_SECOND": "7",
        "MYBROKER_ROUTER_RATE_LIMIT_USER_COST_BURST": "90",
    })
    options = with_overrides(options, {"rate_limit_ip_burst": 11, "rate_limit_user_per_second": None})
    rates = config_fields(options)["rate_limits"]
    assert rates.enabled is False
    assert rates.ip == Bucket(7, 11) and rates.user_cost == Bucket(50_000, 90)
    assert rates.user == RateLimits().user
    assert config_fields(defaults())["rate_limits"] == RateLimits()
    with pytest.raises(ValueError, match="MYBROKER_ROUTER_RATE_LIMIT_IP_BURST"):
        options_from_env({"MYBROKER_ROUTER_RATE_LIMIT_IP_BURST": "lots"})


def test_production_is_stricter_unless_a_limit_is_set_explicitly():
    strict = config_fields(production_router_options(defaults()))["rate_limits"]
    assert strict.ip == Bucket(50, 100) and strict.user == Bucket(20, 40) and strict.ip_total == Bucket(200, 400)
    assert strict.ip_cost.per_second < strict.user_cost.per_second  # anonymous cost lower
    for scope in ("ip", "user", "ip_total", "ip_cost", "user_cost"):
        assert getattr(strict, scope).per_second < getattr(RateLimits(), scope).per_second
    env = {"MYBROKER_ROUTER_RATE_LIMIT_IP_PER_SECOND": "500"}
    chosen = config_fields(production_router_options(options_from_env(env), env))["rate_limits"]
    assert chosen.ip == Bucket(500, PRODUCTION_RATE_LIMITS["rate_limit_ip_burst"])


def test_the_cli_help_states_the_real_defaults():
    from launch.cli import _parser

    router = next(action for action in _parser()._subparsers._group_actions[0].choices.items() if action[0] == "router")[1]
    helps = {action.dest: action.help for action in router._actions}
    development = RateLimits()
    for scope in ("ip", "user", "ip_total", "ip_cost", "user_cost"):
        bucket = getattr(development, scope)
        rate_help, burst_help = helps[f"rate_limit_{scope}_per_second"], helps[f"rate_limit_{scope}_burst"]
        assert f"default {int(bucket.per_second)}, production {PRODUCTION_RATE_LIMITS[f'rate_limit_{scope}_per_second']}" in rate_help
        assert f"default {int(bucket.burst)}, production {PRODUCTION_RATE_LIMITS[f'rate_limit_{scope}_burst']}" in burst_help


async def test_an_operations_cost_is_billed_to_the_cost_bucket(supergraph, store):
    """Demand control's estimate (12 here: latestReviews, its author, their reviews) is
    drawn from the caller's cost bucket before anything runs; 1 of it at the door."""
    clock = Clock()
    costly = {"query": "{ latestReviews(first: 1) { author { reviews { body } } } }"}
    async with edge_router(supergraph, store, **config(clock, ip_cost=Bucket(10, 30))) as (url, _):
        for _ in range(2):  # 30 -> 18 -> 6
            status, _headers, body = await post_from(url, ADDRESS, costly)
            assert status == 200 and "errors" not in body, body
        status, headers, body = await post_from(url, ADDRESS, costly)
        assert status == 429 and headers["Retry-After"] == "1"
        assert body["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}
        status, _headers, _body = await post_from(url, ADDRESS)  # a cheap one (cost 0) still passes
        assert status == 200
        clock.now += 1
        assert (await post_from(url, ADDRESS, costly))[0] == 200
