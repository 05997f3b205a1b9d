"""How the executor talks to subgraphs: one small interface, one production implementation.

Tests plug in their own `SubgraphClient` (e.g. one that executes Strawberry schemas in
process); production uses `HttpSubgraphClient`, one pooled aiohttp session with keep-alive
and orjson on both ways. `ObservedSubgraphClient` wraps either with a span per fetch (its
W3C traceparent sent along, so the subgraph's spans join the trace) and metrics."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Mapping, Protocol

import aiohttp
import orjson
from opentelemetry import propagate, trace
from router.tracing import QuietTracer

if TYPE_CHECKING:
    from router.metrics import RouterMetrics


# Idle pooled connections are closed after this long, sooner than the subgraphs close them
# (mybroker's servers keep idle connections 60 s): a request is then never written on a
# connection the subgraph is closing at that moment.
SUBGRAPH_IDLE_SECONDS = 30.0


# How long one subgraph request may take, connecting included (MYBROKER_ROUTER_SUBGRAPH_TIMEOUT):
# well under the operation's deadline (router.executor), so one slow subgraph costs a
# fetch, not the whole operation.
SUBGRAPH_TIMEOUT_SECONDS = 10.0


class SubgraphUnavailable(Exception):
    """The subgraph did not answer with a GraphQL response (refused, timed out, not JSON)."""


class SubgraphTimeout(SubgraphUnavailable):
    """The subgraph did not answer within the client's timeout."""


class SubgraphClient(Protocol):
    async def fetch(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """POSTs a GraphQL request; returns the decoded GraphQL response or raises
        SubgraphUnavailable."""
        ...


class HttpSubgraphClient:
    def __init__(self, *, timeout: float | None = SUBGRAPH_TIMEOUT_SECONDS, connections: int = 256):
        self.timeout = timeout  # None: no limit
        # `connect` too: a subgraph host that drops SYNs costs the same bound as a slow one.
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._connections, limit_per_host=self._connections, ttl_dns_cache=300,
                keepalive_timeout=SUBGRAPH_IDLE_SECONDS,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._session

    async def fetch(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        session = self._session_for_loop()
        request_headers = {"content-type": "application/json", "accept": "application/json", **headers}
        data = orjson.dumps(body)
        # A read may be sent again when its connection died under it without an answer (a
        # pooled connection the subgraph had just closed, a subgraph restarted): RFC 9112
        # 9.3.1 lets a client retry an idempotent request once. A mutation is never sent
        # twice: it may have been applied before the connection died.
        attempts = 1 if _is_mutation(body) else 2
        for attempt in range(1, attempts + 1):
            try:
                async with session.post(url, data=data, headers=request_headers) as response:
                    raw = await response.read()
                    status = response.status
                break
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
                refused = isinstance(error, aiohttp.ClientConnectorError)  # nothing to retry on
                if refused or attempt == attempts:
                    raise SubgraphUnavailable(type(error).__name__) from None
            except TimeoutError:  # aiohttp's connect and read timeouts are TimeoutErrors too
                raise SubgraphTimeout(f"no answer within {self.timeout} s") from None
            except (aiohttp.ClientError, OSError) as error:
                raise SubgraphUnavailable(type(error).__name__) from None
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise SubgraphUnavailable(f"HTTP {status} without a JSON body") from None
        if not isinstance(decoded, dict) or ("data" not in decoded and "errors" not in decoded):
            raise SubgraphUnavailable(f"HTTP {status} without a GraphQL response")
        return decoded

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _is_mutation(body: Mapping[str, Any]) -> bool:
    """The planner writes every subgraph mutation as `mutation ...` (router/planner.py:
    _fetch_node); queries and entity fetches are reads."""
    query = body.get("query")
    return not isinstance(query, str) or query.lstrip().startswith("mutation")


class ObservedSubgraphClient:
    """A SubgraphClient that traces and counts the fetches of the client it wraps."""

    def __init__(
        self,
        inner: SubgraphClient,
        subgraph_urls: Mapping[str, str],
        *,
        metrics: "RouterMetrics | None" = None,
        tracer: trace.Tracer | QuietTracer | None = None,
    ):
        self.inner = inner
        self._names = {url: name for name, url in subgraph_urls.items()}
        self._metrics = metrics
        self._tracer = tracer or trace.get_tracer("mybroker.router")

    async def fetch(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        subgraph = self._names.get(url, "unknown")
        attributes = {"subgraph.name": subgraph, "url.full": url}
        with self._tracer.start_as_current_span(f"fetch {subgraph}", kind=trace.SpanKind.CLIENT, attributes=attributes) as span:
            if span.is_recording():  # no tracer installed: no header, no copy
                headers = dict(headers)
                propagate.inject(headers)
            started = time.perf_counter()
            failed = True
            try:
                response = await self.inner.fetch(url, body, headers)
                failed = bool(response.get("errors"))
                return response
            finally:
                if self._metrics is not None:
                    self._metrics.observe_fetch(subgraph, time.perf_counter() - started, failed)
