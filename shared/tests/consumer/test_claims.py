"""Claims on the ledger entry (moto over HTTP): exclusive, final once done, one write per change."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from billing_testing.consumer_harness import Clock
from lovia_billing import CustomerUpserted, Integration, Topology
from lovia_billing.claims import LedgerClaims
from lovia_billing.idempotency import Claim, IdempotencyStore, RecordStatus
from lovia_billing.ledger import IntegrationStatus, Ledger

E, M = Integration.ERPNEXT, Integration.MAUTIC


@pytest.fixture
def fallback(aws: Any, topology: Topology, clock: Clock) -> IdempotencyStore:
    return IdempotencyStore(aws.dynamodb, topology.idempotency_table, claim_seconds=60, clock=clock)


@pytest.fixture
def claims(aws: Any, topology: Topology, fallback: IdempotencyStore, clock: Clock) -> LedgerClaims:
    return LedgerClaims(aws.dynamodb, topology.ledger_table, fallback, claim_seconds=60, clock=clock)


async def _recorded(ledger: Ledger, key: str) -> str:
    event = CustomerUpserted.create(customer_id="cus_1", request_key=key, email="a@example.com", name="A")
    await ledger.record_queued(event, [E, M], correlation_id="test")
    return event.event_id


async def _status(ledger: Ledger, event_id: str, integration: Integration = E) -> IntegrationStatus:
    entry = await ledger.get(event_id)
    assert entry is not None
    return entry.integrations[integration.value].status


async def test_a_claim_is_the_ledgers_processing_and_done_is_final(
    claims: LedgerClaims, ledger: Ledger
) -> None:
    event_id = await _recorded(ledger, "k1")
    assert await claims.claim(E, event_id, owner="a", attempt=2) is Claim.ACQUIRED
    entry = await ledger.get(event_id)
    assert entry is not None
    assert entry.integrations["erpnext"].status is IntegrationStatus.PROCESSING
    assert entry.integrations["erpnext"].attempts == 2
    assert entry.integrations["mautic"].status is IntegrationStatus.QUEUED  # per integration
    assert await claims.claim(E, event_id, owner="b") is Claim.HELD
    assert await claims.claim(E, event_id, owner="a") is Claim.ACQUIRED  # our own, redelivered
    assert await claims.claim(M, event_id, owner="b") is Claim.ACQUIRED
    await claims.mark_done(E, event_id, owner="a")
    assert await _status(ledger, event_id) is IntegrationStatus.DONE
    assert await claims.claim(E, event_id, owner="c") is Claim.DONE
    record = await claims.get(E, event_id)
    assert record is not None
    assert record.status is RecordStatus.DONE
    await claims.release(E, event_id, owner="a")  # a late release never undoes done
    assert await claims.claim(E, event_id, owner="c") is Claim.DONE


async def test_an_expired_claim_is_taken_over_and_its_old_owner_loses_it(
    claims: LedgerClaims, ledger: Ledger, clock: Clock
) -> None:
    event_id = await _recorded(ledger, "k2")
    assert await claims.claim(E, event_id, owner="crashed") is Claim.ACQUIRED
    held = await claims.get(E, event_id)
    assert held is not None
    assert held.owner == "crashed"
    assert held.expires_at == int(clock.now) + 60
    clock.now += 61
    assert await claims.get(E, event_id) is None  # lapsed: nobody holds it
    assert await claims.claim(E, event_id, owner="b") is Claim.ACQUIRED
    assert not await claims.renew(E, event_id, owner="crashed")
    assert await claims.renew(E, event_id, owner="b")
    assert await claims.claim(E, event_id, owner="c") is Claim.HELD


async def test_a_released_claim_can_be_taken_and_clear_makes_a_done_event_run_again(
    claims: LedgerClaims, ledger: Ledger
) -> None:
    event_id = await _recorded(ledger, "k3")
    await claims.claim(E, event_id, owner="a")
    await claims.release(E, event_id, owner="b")  # not b's claim: stays
    assert await claims.claim(E, event_id, owner="c") is Claim.HELD
    await claims.release(E, event_id, owner="a")
    assert await claims.claim(E, event_id, owner="c") is Claim.ACQUIRED
    await claims.mark_done(E, event_id, owner="c")
    await claims.clear(E, event_id)  # billing events replay --force
    assert await _status(ledger, event_id) is IntegrationStatus.QUEUED
    assert await claims.claim(E, event_id, owner="d") is Claim.ACQUIRED


async def test_an_event_the_ledger_never_saw_is_claimed_in_the_idempotency_table(
    claims: LedgerClaims, fallback: IdempotencyStore, ledger: Ledger
) -> None:
    assert await claims.claim(E, "evt-unrecorded", owner="a") is Claim.ACQUIRED
    assert await claims.claim(E, "evt-unrecorded", owner="b") is Claim.HELD
    await claims.mark_done(E, "evt-unrecorded", owner="a")
    record = await fallback.get(E, "evt-unrecorded")
    assert record is not None
    assert record.status is RecordStatus.DONE
    assert await claims.claim(E, "evt-unrecorded", owner="b") is Claim.DONE
    assert await ledger.get("evt-unrecorded") is None  # no half-made ledger entry


async def test_each_state_change_is_one_conditional_write_and_no_read(
    claims: LedgerClaims, ledger: Ledger, aws_endpoint: str
) -> None:
    event_id = await _recorded(ledger, "k4")
    async with httpx.AsyncClient(base_url=aws_endpoint) as stand_in:
        (await stand_in.delete("/_sandbox/requests")).raise_for_status()
        assert await claims.claim(E, event_id, owner="a") is Claim.ACQUIRED
        assert await claims.claim(E, event_id, owner="b") is Claim.HELD  # told why by the refusal
        await claims.mark_done(E, event_id, owner="a")
        assert await claims.claim(E, event_id, owner="b") is Claim.DONE
        requests = (await stand_in.get("/_sandbox/requests")).json()["requests"]
    assert requests == {"DynamoDB.UpdateItem": 4}
