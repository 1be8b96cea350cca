"""Traces: off by default; when on, one trace from the request through SQS (moto over HTTP) to the
downstream HTTP call, each span carrying the correlation id."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lovia_billing import CustomerUpserted, Integration, Topology, tracing
from lovia_billing.aws import open_aws_clients
from lovia_billing.consumer._message import SYSTEM_ATTRIBUTES, Delivery
from lovia_billing.publisher import Publisher

REGION = "ap-southeast-1"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    # Not the process-wide provider: other tests in this process stay untraced.
    assert tracing.configure_tracing("billing-test", {}, exporter=exporter, set_global=False) is not None
    yield exporter
    tracing.shutdown_tracing()


def test_off_unless_an_otlp_endpoint_is_configured() -> None:
    assert not tracing.tracing_enabled({})
    assert not tracing.tracing_enabled(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert tracing.tracing_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"})
    assert tracing.configure_tracing("billing-test", {}) is None
    assert tracing.message_attributes() == {}  # nothing added to messages while off
    with tracing.consuming("erpnext customer.upserted", {}, correlation_id="c-1") as span:
        assert not span.is_recording()


async def test_one_trace_from_request_through_the_queue_to_the_downstream_call(
    spans: InMemorySpanExporter, topology: Topology, serve_asgi: Callable[[Any], str]
) -> None:
    async def downstream(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    downstream_url = serve_asgi(downstream)
    event = CustomerUpserted.create(
        customer_id="cus_trace", request_key="k-trace", email="t@example.com", name="Trace"
    )
    with tracing.tracer().start_as_current_span("PUT /v1/customers/{customer_id}") as request_span:
        async with open_aws_clients(REGION) as aws:
            await Publisher(aws.sqs, topology).publish(
                event, correlation_id="req-trace-1", integrations=[Integration.ERPNEXT]
            )
    sqs: Any = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=topology.queue_name(Integration.ERPNEXT))["QueueUrl"]
    (message,) = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=list(SYSTEM_ATTRIBUTES), WaitTimeSeconds=1
    )["Messages"]
    delivery = Delivery.from_sqs(message)
    assert delivery.attributes["traceparent"].split("-")[1] == format(
        request_span.get_span_context().trace_id, "032x"
    )
    assert delivery.body == event.body(), "the body, and so SQS deduplication, is unchanged"

    with tracing.consuming(
        "erpnext customer.upserted", delivery.attributes, correlation_id=str(delivery.correlation_id)
    ):
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{downstream_url}/api/resource/Customer")).status_code == 200

    finished = {span.name: span for span in spans.get_finished_spans()}
    request = finished["PUT /v1/customers/{customer_id}"]
    consumer = finished["erpnext customer.upserted"]
    (call,) = [span for name, span in finished.items() if name not in {request.name, consumer.name}]
    trace_id = request.context.trace_id
    assert consumer.context.trace_id == trace_id == call.context.trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == request.context.span_id
    assert call.parent is not None
    assert call.parent.span_id == consumer.context.span_id
    assert consumer.kind is trace.SpanKind.CONSUMER
    assert call.kind is trace.SpanKind.CLIENT
    assert request.attributes is not None
    assert consumer.attributes is not None
    assert request.attributes[tracing.CORRELATION_ID] == "req-trace-1"
    assert consumer.attributes[tracing.CORRELATION_ID] == "req-trace-1"
    assert request.attributes["lovia.event_id"] == event.event_id
