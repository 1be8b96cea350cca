"""Error classes: rate limits honoured, permanent failures dead-lettered with the reason, heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billing_testing.consumer_harness import running, wait_until
from billing_testing.example_consumer import build
from lovia_billing import Integration
from lovia_billing.ledger import IntegrationStatus

INTEGRATION = Integration.ERPNEXT


async def _visible_messages(aws: Any, url: str) -> int:
    attributes = await aws.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


async def test_retry_after_of_a_429_delays_the_retry_by_at_least_that_long(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any
) -> None:
    rec, _ = recorder
    [event] = await publish({"cus_429": 1})
    rec.fail(event.event_id, 429, times=1, retry_after=2)
    settings = make_settings(consumer_backoff_base=0.1, consumer_backoff_cap=0.1)  # the floor is Retry-After
    async with running(build(settings), settings):
        await wait_until(lambda: len(rec.effects) == 1, within=15)

    first, second = rec.attempts_of(event.event_id)
    assert first["status"] == 429
    assert second["status"] == 200
    assert second["started_at"] - first["at"] >= 2.0
    entry = await ledger.get(event.event_id)
    assert entry.integrations[INTEGRATION].status is IntegrationStatus.DONE
    assert entry.integrations[INTEGRATION].attempts == 2


async def test_a_retryable_failure_is_recorded_as_retrying_with_its_error(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any
) -> None:
    rec, _ = recorder
    [event] = await publish({"cus_retry": 1})
    rec.fail(event.event_id, 503, times=None)
    settings = make_settings(consumer_backoff_base=5.0, consumer_backoff_cap=5.0)
    async with running(build(settings), settings):
        entry = await wait_until(lambda: _status(ledger, event.event_id, IntegrationStatus.RETRYING))
    state = entry.integrations[INTEGRATION]
    assert state.attempts == 1
    assert "DownstreamUnavailable" in state.last_error
    assert len(rec.attempts_of(event.event_id)) == 1  # the backoff holds it back


async def test_a_permanent_failure_reaches_the_dlq_quickly_with_its_reason_and_dead_in_the_ledger(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any, aws: Any, dlq_url: str
) -> None:
    rec, _ = recorder
    published_at = datetime.now(UTC).replace(microsecond=0)
    [event, after] = await publish({"cus_dead": 2})
    rec.fail(event.event_id, 422, times=None)
    settings = make_settings()
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: _visible_messages(aws, dlq_url), within=15)
        await wait_until(lambda: rec.effects_of(after.event_id), within=10)  # the group goes on
        assert consumer.metrics.totals["dead"] == 1

    entry = await ledger.get(event.event_id)
    state = entry.integrations[INTEGRATION]
    assert state.status is IntegrationStatus.DEAD
    assert "422" in state.last_error
    assert state.attempts == 1
    assert len(rec.attempts_of(event.event_id)) == 1  # no retries burnt
    dead = await aws.sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    )
    [message] = dead["Messages"]
    assert event.event_id in message["Body"]
    assert message["Attributes"]["MessageGroupId"] == "cus_dead"
    assert "422" in message["MessageAttributes"]["dead_reason"]["StringValue"]
    # When the consumer first received it, for `billing dlq show` (not when anyone last peeked).
    first_received = datetime.fromisoformat(message["MessageAttributes"]["first_received_at"]["StringValue"])
    dead_since = datetime.fromtimestamp(int(message["Attributes"]["SentTimestamp"]) / 1000, UTC)
    assert published_at <= first_received <= dead_since


async def test_an_unparseable_body_is_dead_lettered(
    make_settings: Any, aws: Any, queue_url: str, dlq_url: str
) -> None:
    await aws.sqs.send_message(QueueUrl=queue_url, MessageBody="{not json", MessageGroupId="cus_junk")
    settings = make_settings()
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: _visible_messages(aws, dlq_url), within=15)
        assert consumer.metrics.totals["dead"] == 1


async def test_a_retryable_failure_on_the_final_receive_is_dead(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any, aws: Any, dlq_url: str, short_redrive: Any
) -> None:
    receives = await short_redrive(3)  # explicit: production's 19 receives span more than 24 h
    rec, _ = recorder
    [event] = await publish({"cus_tired": 1})
    rec.fail(event.event_id, 503, times=None)
    settings = make_settings(consumer_backoff_base=0.0, consumer_backoff_cap=0.0)  # retry at once
    async with running(build(settings), settings):
        await wait_until(lambda: _visible_messages(aws, dlq_url), within=20)
    assert len(rec.attempts_of(event.event_id)) == receives
    state = (await ledger.get(event.event_id)).integrations[INTEGRATION]
    assert state.status is IntegrationStatus.DEAD
    assert state.attempts == receives
    assert "503" in state.last_error


async def test_visibility_is_extended_while_a_slow_handler_runs(
    make_settings: Any, recorder: Any, publish: Any
) -> None:
    rec, _ = recorder
    [event] = await publish({"cus_slow": 1})
    # Visibility 2 s, handler 3.5 s: without the heartbeat SQS would hand it out again mid-run.
    settings = make_settings(example_sleep_seconds=3.5, consumer_visibility_timeout=2)
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: rec.effects_of(event.event_id), within=15)
        await wait_until(lambda: consumer.metrics.totals["processed"] == 1)
    assert len(rec.started) == 1
    assert consumer.metrics.totals["duplicate"] == 0


async def _status(ledger: Any, event_id: str, status: IntegrationStatus) -> Any:
    entry = await ledger.get(event_id)
    if entry is not None and entry.integrations[INTEGRATION].status is status:
        return entry
    return None
