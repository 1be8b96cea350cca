"""A handler succeeded but DynamoDB would not take its ``done``: the event still ends ``done``.

The AWS stand-in refuses the ``done`` writes over HTTP for a while (``POST /_sandbox/faults``: a 500
``InternalServerError`` to every ``UpdateItem`` that sets ``done``), as a DynamoDB incident looks to
botocore, while SQS and the claims keep working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from billing_testing.consumer_harness import running, wait_until
from billing_testing.example_consumer import build
from lovia_billing import Integration
from lovia_billing.ledger import IntegrationStatus

INTEGRATION = Integration.ERPNEXT
DONE_WRITE = {"operation": "DynamoDB_20120810.UpdateItem", "match": "SET #st = :done"}


@pytest.fixture
async def faults(aws_endpoint: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{aws_endpoint}/_sandbox/faults") as client:
        yield client
        await client.delete("")  # the stand-in serves the whole session


async def _done(ledger: Any, event_id: str) -> Any:
    entry = await ledger.get(event_id)
    if entry is not None and entry.integrations[INTEGRATION].status is IntegrationStatus.DONE:
        return entry
    return None


async def _drained(aws: Any, url: str) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = (await aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names))["Attributes"]
    return sum(int(attributes[name]) for name in names) == 0


async def test_a_done_refused_briefly_is_written_by_botocore_retrying_it(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any, faults: httpx.AsyncClient
) -> None:
    rec, _ = recorder
    [event] = await publish({"cus_done_blip": 1})
    assert (await faults.post("", json={**DONE_WRITE, "seconds": 1.0})).status_code == 201
    settings = make_settings()
    async with running(build(settings), settings):
        await wait_until(lambda: _done(ledger, event.event_id))
    assert (await faults.get("")).json()["faults"][0]["failed"] >= 1  # the refusal really happened
    assert len(rec.effects_of(event.event_id)) == 1  # retried in place: no second run of the handler


async def test_a_done_refused_longer_keeps_the_message_until_done_is_written(
    make_settings: Any,
    recorder: Any,
    publish: Any,
    ledger: Any,
    faults: httpx.AsyncClient,
    aws: Any,
    queue_url: str,
) -> None:
    rec, _ = recorder
    [event] = await publish({"cus_done_outage": 1})
    # Longer than botocore's own retries (standard mode: 4 attempts, jittered backoff, ~7 s at most).
    assert (await faults.post("", json={**DONE_WRITE, "seconds": 15.0})).status_code == 201
    settings = make_settings()
    async with running(build(settings), settings):
        entry = await wait_until(lambda: _done(ledger, event.event_id), within=60)
        await wait_until(lambda: _drained(aws, queue_url), within=10)
    assert (await faults.get("")).json()["faults"][0]["failed"] >= 2
    # The message came back and the handler met its own effect again, as a downstream natural key
    # absorbs it; nothing was deleted while the ledger could not say done.
    assert len(rec.effects_of(event.event_id)) >= 2
    assert entry.integrations[INTEGRATION].last_error is None
