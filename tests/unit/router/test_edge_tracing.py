"""OpenTelemetry: one request through the router to a subgraph is one trace, router spans
and subgraph spans joined by the W3C traceparent the router sends."""
from __future__ import annotations

import aiohttp
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.requests import Request

from mybroker.service import service_app
from router.tracing import configure_tracing, tracing_mode

from .edge_support import edge_router
from .router_fixture_subgraphs import SCHEMAS, InProcessClient
from .test_router_http import post, serve


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def accounts_subgraph(store, provider):
    """The accounts test subgraph served by the services' own FastAPI app factory."""
    app = service_app("accounts", tracer_provider=provider)

    @app.post("/graphql")
    async def graphql(request: Request):
        payload = await request.json()
        result = await SCHEMAS["accounts"].execute(
            payload["query"], variable_values=payload.get("variables"), context_value={"store": store, "headers": request.headers}
        )
        return {"data": result.data}

    return app


async def test_router_and_subgraph_spans_share_one_trace(supergraph, store, spans):
    provider, exporter = spans
    async with serve(accounts_subgraph(store, provider)) as accounts_url:
        config = dict(client=None, tracer_provider=provider, subgraph_urls={"accounts": accounts_url + "/graphql"})
        async with edge_router(supergraph, store, **config) as (url, _):
            status, body = await post(url, {"query": "query Me { me { name } }", "operationName": "Me"})
    assert (status, body) == (200, {"data": {"me": {"name": "Ada Lovelace"}}})
    by_name = {span.name: span for span in exporter.get_finished_spans()}
    request, prepare, fetch = by_name["graphql request"], by_name["router.prepare"], by_name["fetch accounts"]
    subgraph = by_name["accounts POST /graphql"]
    assert len({span.context.trace_id for span in (request, prepare, fetch, subgraph)}) == 1
    assert request.parent is None and request.kind == SpanKind.SERVER
    assert request.attributes["graphql.operation.type"] == "query"
    assert request.attributes["graphql.operation.name"] == "Me"
    assert prepare.parent.span_id == request.context.span_id
    assert fetch.parent.span_id == request.context.span_id and fetch.kind == SpanKind.CLIENT
    assert fetch.attributes["subgraph.name"] == "accounts"
    assert fetch.attributes["url.full"] == accounts_url + "/graphql"
    # The subgraph continued the router's trace from the traceparent header.
    assert subgraph.parent.span_id == fetch.context.span_id and subgraph.parent.is_remote


async def test_the_router_continues_a_clients_trace(supergraph, store, spans):
    provider, exporter = spans
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    client = InProcessClient(store)
    async with edge_router(supergraph, store, client=client, tracer_provider=provider) as (url, _):
        await post(url, {"query": "{ me { name } }"}, {"traceparent": traceparent})
    request = next(span for span in exporter.get_finished_spans() if span.name == "graphql request")
    assert format(request.context.trace_id, "032x") == trace_id
    (_, _, headers), = client.calls
    assert headers["traceparent"].split("-")[1] == trace_id


async def test_no_tracer_no_traceparent(supergraph, store):
    client = InProcessClient(store)
    async with edge_router(supergraph, store, client=client) as (url, _):
        await post(url, {"query": "{ me { name } }"}, {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    (_, _, headers), = client.calls
    assert "traceparent" not in headers


def test_tracing_mode_from_the_environment():
    assert tracing_mode({}) == "off"
    assert tracing_mode({"MYBROKER_TRACING": "Console"}) == "console"
    assert tracing_mode({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == "otlp"
    assert tracing_mode({"MYBROKER_TRACING": "off", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == "off"
    assert configure_tracing("router", {}) is None
    assert configure_tracing("router", {"MYBROKER_TRACING": "carrier-pigeon"}) is None


async def test_the_request_span_records_the_status_the_client_got(supergraph, store, spans):
    """A 503 under application/graphql-response+json (router/media.py) is what the span says."""
    provider, exporter = spans
    client = InProcessClient(store)
    client.down.add("inventory")
    async with edge_router(supergraph, store, client=client, tracer_provider=provider) as (url, _):
        await post(url, {"query": "{ warehouseCount }"})
        async with aiohttp.ClientSession() as session:
            headers = {"accept": "application/graphql-response+json"}
            async with session.post(url + "/graphql", json={"query": "{ warehouseCount }"}, headers=headers) as response:
                assert response.status == 503
    statuses = [span.attributes["http.response.status_code"] for span in exporter.get_finished_spans() if span.name == "graphql request"]
    assert statuses == [200, 503]
