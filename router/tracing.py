"""Where the router's (and the services') OpenTelemetry spans go.

Off by default: the API's no-op tracer then costs a few attribute look-ups per request
and subgraph requests carry no traceparent. `MYBROKER_TRACING=console` prints spans;
`MYBROKER_TRACING=otlp`, or OTEL_EXPORTER_OTLP_ENDPOINT being set, exports them over OTLP
when the optional package `opentelemetry-exporter-otlp-proto-http` is installed."""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Mapping

from opentelemetry import trace

log = logging.getLogger("router.tracing")


def tracing_mode(env: Mapping[str, str]) -> str:
    mode = env.get("MYBROKER_TRACING", "").strip().lower()
    if not mode and env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return "otlp"
    return mode or "off"


def configure_tracing(service_name: str, env: Mapping[str, str] | None = None):
    """Installs the process-wide tracer provider the environment asks for; returns it, or
    None when tracing stays off. Call once, at process start."""
    env = os.environ if env is None else env
    mode = tracing_mode(env)
    if mode in ("off", "none", "0", "false"):
        return None
    exporter = _exporter(mode)
    if exporter is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", service_name)}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(mode: str):
    if mode == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if mode == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTLP tracing asked for, but opentelemetry-exporter-otlp-proto-http is not installed: tracing is off")
            return None
        return OTLPSpanExporter()  # endpoint and headers from the OTEL_EXPORTER_OTLP_* variables
    log.warning("MYBROKER_TRACING=%s is not one of console, otlp, off: tracing is off", mode)
    return None


# What a span is while tracing is off: is_recording() is False, so callers skip their
# attributes and headers as they do with the API's own no-op spans.
NO_SPAN = contextlib.nullcontext(trace.INVALID_SPAN)


class QuietTracer:
    """The router's tracer, making no span at all while no tracer provider is installed.
    The API's no-op tracer still builds a span and attaches it to the context for every
    "graphql request", "router.prepare" and "fetch" span: about 6% of the router's CPU on
    the simplest query (py-spy, BENCHMARKS.md). Asked per span, as the subgraphs' trace
    middleware does: a provider may be installed after the router was built, and then
    spans start at once. `given`: a provider was passed in (tests), so always trace."""

    __slots__ = ("tracer", "given")

    def __init__(self, tracer: trace.Tracer, *, given: bool):
        self.tracer = tracer
        self.given = given

    def on(self) -> bool:
        return self.given or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)

    def start_as_current_span(self, name: str, **options: Any):
        if not self.on():
            return NO_SPAN
        return self.tracer.start_as_current_span(name, **options)
