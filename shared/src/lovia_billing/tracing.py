"""Traces from the ingest through the queue to the downstream call, carrying the correlation id.

OpenTelemetry, exported over OTLP/HTTP to the collector beside each task (the ADOT sidecar, which
forwards to X-Ray). Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set,
so local runs and tests make no spans and send nothing; the SDK's own ``OTEL_*`` variables
(service name, sampler, ratio) apply. While off, every function here costs next to nothing: the
API's no-op tracer makes non-recording spans and nothing is added to messages.

Across the queue the W3C ``traceparent`` (and ``tracestate``) travel as SQS message attributes; the
consumer's span continues the publisher's trace, and the downstream HTTP calls (httpx, instrumented)
are its children.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

ENDPOINT_VARIABLES: Final = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
#: The propagation headers carried as message attributes (W3C trace context).
CARRIED: Final = ("traceparent", "tracestate")
CORRELATION_ID: Final = "lovia.correlation_id"

_provider: TracerProvider | None = None


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


def configure_tracing(
    service_name: str,
    env: Mapping[str, str] = os.environ,
    *,
    exporter: SpanExporter | None = None,
    set_global: bool = True,
) -> TracerProvider | None:
    """Start exporting spans when an endpoint is configured; return the provider (None: off).

    ``exporter`` replaces the OTLP exporter (tests hold spans in memory); ``set_global=False`` keeps
    the process-wide provider untouched (only this module's spans and httpx's are recorded).
    """
    global _provider
    if exporter is None and not tracing_enabled(env):
        return None
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    _provider = provider
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    return provider


def shutdown_tracing() -> None:
    """Flush and stop (a test's teardown; processes flush at exit on their own)."""
    global _provider
    if _provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    _provider.shutdown()
    _provider = None


def tracer() -> trace.Tracer:
    return trace.get_tracer("lovia_billing", tracer_provider=_provider)


def message_attributes() -> dict[str, Any]:
    """The current trace context as SQS message attributes (empty when there is no span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {
        name: {"DataType": "String", "StringValue": carrier[name]} for name in CARRIED if carrier.get(name)
    }


def annotate(**attributes: str) -> None:
    """Add attributes (the correlation id, the event id) to the current span, if one records."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({f"lovia.{name}": value for name, value in attributes.items()})


@contextmanager
def consuming(
    name: str, message_attributes: Mapping[str, str], *, correlation_id: str, **attributes: str
) -> Iterator[trace.Span]:
    """A consumer span that continues the trace the message was published in."""
    context = propagate.extract({key: value for key, value in message_attributes.items() if key in CARRIED})
    with tracer().start_as_current_span(
        name,
        context=context,
        kind=trace.SpanKind.CONSUMER,
        attributes={CORRELATION_ID: correlation_id, **{f"lovia.{k}": v for k, v in attributes.items()}},
    ) as span:
        yield span
