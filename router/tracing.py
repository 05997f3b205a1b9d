"""Where the router's (and the services') OpenTelemetry spans go.

Off by default: the API's no-op tracer then costs a few attribute look-ups per request
and subgraph requests carry no traceparent. `MYBROKER_TRACING=console` prints spans;
`MYBROKER_TRACING=otlp`, or OTEL_EXPORTER_OTLP_ENDPOINT being set, exports them over OTLP
when the optional package `opentelemetry-exporter-otlp-proto-http` is installed."""
from __future__ import annotations

import logging
import os
from typing import Mapping

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
