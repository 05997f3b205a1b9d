"""The router makes no spans while tracing is off (router.tracing.QuietTracer), and does
the moment a tracer provider is installed, or always when one was given to it."""
from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from router.tracing import NO_SPAN, QuietTracer


class Recording:
    def __init__(self):
        self.started: list[str] = []

    def start_as_current_span(self, name, **options):
        self.started.append(name)
        return "a span"


def test_no_span_while_no_provider_is_installed():
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # the tests install none
    inner = Recording()
    quiet = QuietTracer(inner, given=False)
    with quiet.start_as_current_span("fetch accounts") as span:
        assert not span.is_recording()
    assert quiet.start_as_current_span("router.prepare") is NO_SPAN
    assert inner.started == []


def test_spans_once_a_provider_is_installed(monkeypatch):
    inner = Recording()
    quiet = QuietTracer(inner, given=False)
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: TracerProvider())
    assert quiet.start_as_current_span("router.prepare") == "a span"
    assert inner.started == ["router.prepare"]


def test_a_given_provider_always_traces():
    inner = Recording()
    assert QuietTracer(inner, given=True).start_as_current_span("graphql request") == "a span"
