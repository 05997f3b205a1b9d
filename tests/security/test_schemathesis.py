"""Schemathesis against the router (issue 13): every root field of the public schema, queries
and mutations, fuzzed with generated arguments and selections, as a signed-in trader.

A fixed seed and a fixed number of examples per operation make the run the same every time
(and bounded in time); it fails on any HTTP 5xx and on any INTERNAL_SERVER_ERROR in a body,
which is what a crash, a stack trace or a half-handled input looks like from outside. Typed
refusals (BAD_USER_INPUT, RATE_LIMITED, OPERATION_TOO_COMPLEX, ...) are the point, not a
failure. `.ci/run` runs this on the embedded default and on the real engines.

Hypothesis runs in a worker thread: Schemathesis' client is synchronous (requests), and the
platform under test is served by this session's event loop, which must keep running."""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from tests.e2e.test_trader_story import DEPOSIT, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SEED = 20261207
EXAMPLES_PER_OPERATION = 40
# The tests' own address is a trusted proxy (tests/conftest.py): the fuzzer's logins and
# sign-ups are throttled as one address of their own, never the other tests'.
FUZZER_ADDRESS = "198.51.100.77"


def _money() -> st.SearchStrategy:
    """The contract's Decimal: mostly well-formed amounts (so mutations get past the scalar
    and reach the services), and some of what a careless client sends."""
    well_formed = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2).map(str)
    careless = st.sampled_from(["1E+2", "1_000.00", " 5.00 ", "-1.00", "0", "1.234", "", "１０"])
    return st.one_of(well_formed, well_formed, careless, st.text(max_size=12)).map(nodes.String)


schemathesis.graphql.scalar("Decimal", _money())


def _server_errors(response: requests.Response) -> list[str]:
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}: {response.text[:300]}"]
    try:
        body = response.json()
    except ValueError:
        return [f"HTTP {response.status_code} with a body that is not JSON: {response.text[:300]}"]
    errors = body.get("errors") if isinstance(body, dict) else None
    return [
        f"{error.get('message')!r} at {error.get('path')}"
        for error in errors or []
        if isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
    ]


def fuzz(url: str, token: str) -> tuple[int, list[str]]:
    """Runs every operation's examples; returns how many requests were sent and what failed
    (a failure is recorded and the run goes on, so one report shows them all)."""
    schema = schemathesis.graphql.from_url(url)
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": FUZZER_ADDRESS}
    failures: list[str] = []
    sent = 0
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()

            @seed(SEED)
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def run(case) -> None:
                nonlocal sent
                response = case.call(session=session, headers=headers, timeout=30)
                sent += 1
                for problem in _server_errors(response):
                    failures.append(f"{operation.label}: {problem}\n  query: {case.body}")  # noqa: B023 - run() is called within its iteration

            run()
    return sent, failures


async def test_no_generated_request_makes_the_router_fail(platform, new_client):
    trader = new_client()
    await sign_up(trader, "fuzzer")
    await trader.execute(DEPOSIT, {"amount": "50000.00"})
    sent, failures = await asyncio.to_thread(fuzz, platform.router_url, trader.token)
    print(f"schemathesis: {sent} requests, {len(failures)} failures")
    assert sent >= EXAMPLES_PER_OPERATION * 10, f"only {sent} requests were generated"
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:20])
