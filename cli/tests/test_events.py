"""``billing events show|replay``: the ledger entry, and sending an event through again."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import pytest

from billing_testing.queues import QueueReader
from lovia_billing import CustomerUpserted, Integration, PublishError, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.claims import LedgerClaims
from lovia_billing.idempotency import Claim, IdempotencyStore
from lovia_billing.ledger import IntegrationStatus, Ledger
from lovia_billing.provision import provision
from lovia_billing.publisher import Publisher

E, C, M = Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC
REGION = "ap-southeast-1"


async def _published_with_erpnext_done(topology: Topology) -> CustomerUpserted:
    """customer.upserted → erpnext, chartmogul, mautic; erpnext done (claimed and done, as a consumer
    does: on the ledger entry), mautic dead."""
    event = CustomerUpserted.create(customer_id="cus_1", request_key="k1", email="b@example.com", name="Budi")
    async with open_aws_clients(REGION) as clients:
        ledger = Ledger(clients.dynamodb, topology.ledger_table)
        await Publisher(clients.sqs, topology, ledger).publish(event, correlation_id="corr-1")
        claims = _claims(clients, topology)
        assert await claims.claim(E, event.event_id, owner="w1", attempt=1) is Claim.ACQUIRED
        await claims.mark_done(E, event.event_id, owner="w1")
        await ledger.mark(
            event.event_id, M, IntegrationStatus.DEAD, attempt=5, error="MauticRejected: bad e-mail"
        )
    return event


def _claims(clients: Any, topology: Topology) -> LedgerClaims:
    fallback = IdempotencyStore(clients.dynamodb, topology.idempotency_table)
    return LedgerClaims(clients.dynamodb, topology.ledger_table, fallback)


async def _idempotency_record(topology: Topology, event_id: str) -> Any:
    async with open_aws_clients(REGION) as clients:
        return await _claims(clients, topology).get(E, event_id)


@pytest.fixture
def published(topology: Topology) -> CustomerUpserted:
    return asyncio.run(_published_with_erpnext_done(topology))


def test_show_gives_routing_and_each_integrations_state(
    topology: Topology, published: CustomerUpserted, billing_json: Any, billing: Any
) -> None:
    entry = billing_json("events", "show", published.event_id, "--stage", topology.stage)

    assert entry["event_type"] == "customer.upserted"
    assert entry["routed_to"] == ["erpnext", "chartmogul", "mautic"]
    assert entry["integrations"]["erpnext"]["status"] == "done"
    assert entry["integrations"]["chartmogul"]["status"] == "queued"
    mautic = entry["integrations"]["mautic"]
    assert (mautic["status"], mautic["attempts"], mautic["last_error"]) == (
        "dead",
        5,
        "MauticRejected: bad e-mail",
    )
    assert mautic["updated_at"] is not None
    table = billing("events", "show", published.event_id, "--stage", topology.stage)
    assert table.exit_code == 0
    assert "MauticRejected: bad e-mail" in table.stdout
    assert "corr-1" in table.stdout


def test_replay_skips_what_is_done_and_resends_the_rest_past_deduplication(
    topology: Topology, published: CustomerUpserted, billing_json: Any, reader: QueueReader
) -> None:
    before = {i: reader.count(i) for i in (E, C, M)}

    report = billing_json("events", "replay", published.event_id, "--stage", topology.stage)

    assert report["sent"] == ["chartmogul", "mautic"]
    assert report["skipped"] == [{"integration": "erpnext", "reason": "done (use --force to redo)"}]
    assert report["cleared"] == []
    # Same body as the original, within 5 minutes: sent anyway thanks to the fresh deduplication id.
    assert {i: reader.count(i) for i in (E, C, M)} == {E: before[E], C: before[C] + 1, M: before[M] + 1}
    assert asyncio.run(_idempotency_record(topology, published.event_id)) is not None
    entry = asyncio.run(_get_entry(topology, published.event_id))
    assert entry.integrations["mautic"].status is IntegrationStatus.QUEUED


def test_replay_with_force_clears_the_idempotency_record_then_resends(
    topology: Topology, published: CustomerUpserted, billing_json: Any, reader: QueueReader
) -> None:
    before = reader.count(E)

    report = billing_json(
        "events",
        "replay",
        published.event_id,
        "--integration",
        "erpnext",
        "--force",
        "--stage",
        topology.stage,
    )

    assert report == {
        "event_id": published.event_id,
        "sent": ["erpnext"],
        "skipped": [],
        "cleared": ["erpnext"],
    }
    assert asyncio.run(_idempotency_record(topology, published.event_id)) is None
    assert reader.count(E) == before + 1
    assert reader.count(C) == 1  # the other integrations were left alone


def test_replay_to_an_integration_the_event_never_went_to_is_an_error(
    topology: Topology, published: CustomerUpserted, billing: Any, reader: QueueReader
) -> None:
    result = billing(
        "events", "replay", published.event_id, "--integration", "xendit", "--stage", topology.stage
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: event {published.event_id} was not routed to xendit (routed to: erpnext, chartmogul, mautic)"
    ]
    assert reader.count(Integration.XENDIT) == 0


def test_replay_without_force_of_a_done_integration_sends_nothing(
    topology: Topology, published: CustomerUpserted, billing: Any, reader: QueueReader
) -> None:
    before = reader.count(E)
    result = billing(
        "events", "replay", published.event_id, "--integration", "erpnext", "--stage", topology.stage
    )
    assert result.exit_code == 0
    assert "skipped erpnext: done" in result.stdout
    assert "nothing sent" in result.stdout
    assert reader.count(E) == before


async def _get_entry(topology: Topology, event_id: str) -> Any:
    async with open_aws_clients(REGION) as clients:
        return await Ledger(clients.dynamodb, topology.ledger_table).get(event_id)


async def _published_while_chartmogul_refuses(topology: Topology) -> CustomerUpserted:
    """customer.upserted sent while chartmogul's queue is gone: that integration is not_queued."""
    event = CustomerUpserted.create(
        customer_id="cus_2", request_key="k2", email="c@example.com", name="Citra"
    )
    sqs = boto3.client("sqs", region_name=REGION)
    async with open_aws_clients(REGION) as clients:
        publisher = Publisher(clients.sqs, topology, Ledger(clients.dynamodb, topology.ledger_table))
        await publisher.resolve_queues()
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=topology.queue_name(C))["QueueUrl"])
        with pytest.raises(PublishError):
            await publisher.publish(event, correlation_id="corr-2")
    provision(topology, region=REGION)
    return event


def test_show_tells_not_queued_and_replay_queues_it(
    topology: Topology, billing_json: Any, billing: Any, reader: QueueReader
) -> None:
    event = asyncio.run(_published_while_chartmogul_refuses(topology))

    entry = billing_json("events", "show", event.event_id, "--stage", topology.stage)
    table = billing("events", "show", event.event_id, "--stage", topology.stage)

    assert {name: state["status"] for name, state in entry["integrations"].items()} == {
        "erpnext": "queued",
        "chartmogul": "not_queued",
        "mautic": "queued",
    }
    assert "NonExistentQueue" in entry["integrations"]["chartmogul"]["last_error"]
    assert "not_queued" in table.stdout
    report = billing_json(
        "events", "replay", event.event_id, "--integration", "chartmogul", "--stage", topology.stage
    )
    assert report["sent"] == ["chartmogul"]
    assert reader.count(C) == 1
    after = billing_json("events", "show", event.event_id, "--stage", topology.stage)
    assert after["integrations"]["chartmogul"]["status"] == "queued"
