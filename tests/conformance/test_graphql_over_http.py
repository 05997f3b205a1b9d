"""The GraphQL-over-HTTP spec's own audit (graphql-http 1.23.1, `auditServer`: 61 audits)
against the platform's router at /graphql, CSRF protection on: every request of the
audit carries the router's CSRF preflight header, as a browser client configured for it
would. Every audit must be OK, the SHOULDs and MAYs included (docs/router-conformance.md).

Run alone: PYTHONPATH=$PWD:$PWD/b3-sim .venv/bin/python -m pytest -q tests/conformance

In CI a missing node or npm fails the run; on a workstation without them this skips and
says why. An unreachable npm registry fails in seconds with one sentence."""
from __future__ import annotations

import os

import pytest

from router.csrf import DEFAULT_REQUIRED_HEADERS
from tests.conformance.graphql_http import AuditUnavailable, ensure_installed, run_audit, tool

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

AUDITS = 61
# The header the trading screen's peers (Apollo clients) send to pass CSRF prevention.
CSRF_HEADER = "apollo-require-preflight"
# Without that header every GET is a simple request, refused as a possible CSRF: the three
# audits of GET queries are MAYs, so they fail as notices and nothing else does.
REFUSED_AS_CSRF = {"5A70", "D6D5", "6A70"}


@pytest.fixture(scope="module")
def node() -> str:
    missing = _unavailable(lambda: (tool("node"), tool("npm")))
    if missing is not None:
        if os.environ.get("CI") or os.environ.get("MYBROKER_INFRA"):
            pytest.fail(f"the GraphQL-over-HTTP audit cannot run in CI: {missing}", pytrace=False)
        pytest.skip(missing)
    installed: list[str] = []
    failed = _unavailable(lambda: installed.append(ensure_installed()))
    if failed is not None:
        pytest.fail(failed, pytrace=False)
    return installed[0]


def _unavailable(step) -> str | None:
    """Why `step` could not be done, or None; outside the `except`, so the failure is the
    one sentence alone."""
    try:
        step()
    except AuditUnavailable as error:
        return str(error)
    return None


async def test_every_graphql_over_http_audit_passes_with_csrf_on(platform, node):
    assert CSRF_HEADER in DEFAULT_REQUIRED_HEADERS, "the router's own CSRF header"
    results = run_audit(node, platform.router_url, {CSRF_HEADER: "1"})
    failing = [result.describe() for result in results if result.status != "ok"]
    assert not failing, f"{len(failing)} of {len(results)} audits are not OK:\n" + "\n".join(failing)
    assert len(results) == AUDITS


async def test_without_the_csrf_header_only_get_queries_are_refused(platform, node):
    """CSRF prevention stays on: the audit's GETs, simple requests, are refused (400
    BAD_USER_INPUT, which the audit counts as notices); every POST it sends declares
    application/json and passes."""
    results = run_audit(node, platform.router_url)
    refused = {result.id: result for result in results if result.status != "ok"}
    assert set(refused) == REFUSED_AS_CSRF, "\n".join(result.describe() for result in refused.values())
    assert {(result.status, result.response_status) for result in refused.values()} == {("notice", 400)}


async def test_the_csrf_refusal_is_typed(platform, http):
    async with http.get(platform.router_url, params={"query": "{ __typename }"}) as response:
        body = await response.json()
    assert response.status == 400 and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Cross-Site Request Forgery" in body["errors"][0]["message"] and CSRF_HEADER in body["errors"][0]["message"]
