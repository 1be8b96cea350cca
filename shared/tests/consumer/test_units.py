"""Backoff (pure), the idempotency store (moto over HTTP) and the healthcheck command."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from billing_testing.consumer_harness import Clock
from lovia_billing import ConsumerSettings, Integration, Topology
from lovia_billing.consumer import retry_delay
from lovia_billing.consumer._backoff import MAX_VISIBILITY_SECONDS, shortest_retry_seconds
from lovia_billing.idempotency import Claim, IdempotencyStore, RecordStatus
from lovia_billing.topology import MAX_RECEIVE_COUNT, RETRY_BUDGET_HOURS

E = Integration.ERPNEXT


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 1, 2), (2, 2, 4), (3, 4, 8), (9, 150, 300)])
def test_backoff_grows_exponentially_with_jitter_and_is_capped(attempt: int, low: int, high: int) -> None:
    delays = {retry_delay(attempt, base=2, cap=300, rng=random.Random(seed)) for seed in range(50)}
    assert min(delays) >= low
    assert max(delays) <= high
    assert len(delays) > 1 or high - low < 2  # jitter spreads retries unless rounding merges them


def test_backoff_never_comes_back_sooner_than_retry_after() -> None:
    assert retry_delay(1, base=0.1, cap=0.1, retry_after=2) == 2
    assert retry_delay(1, base=0.1, cap=1, retry_after=2.2) == 3  # whole seconds, rounded up
    assert retry_delay(1, base=1, cap=5, retry_after=600) == 600  # above the cap: the server asked


@pytest.fixture
def store(aws: Any, topology: Topology, clock: Clock) -> IdempotencyStore:
    return IdempotencyStore(
        aws.dynamodb, topology.idempotency_table, claim_seconds=60, ttl_days=30, clock=clock
    )


async def test_a_claim_is_exclusive_until_released(store: IdempotencyStore) -> None:
    assert await store.claim(E, "ev1", owner="a") is Claim.ACQUIRED
    assert await store.claim(E, "ev1", owner="b") is Claim.HELD
    assert await store.claim(Integration.MAUTIC, "ev1", owner="b") is Claim.ACQUIRED  # per integration
    await store.release(E, "ev1", owner="b")  # not b's claim: no effect
    assert await store.claim(E, "ev1", owner="b") is Claim.HELD
    await store.release(E, "ev1", owner="a")
    assert await store.claim(E, "ev1", owner="b") is Claim.ACQUIRED


async def test_done_is_acknowledged_for_ttl_days_then_forgotten(
    store: IdempotencyStore, clock: Clock
) -> None:
    assert await store.claim(E, "ev2", owner="a") is Claim.ACQUIRED
    await store.mark_done(E, "ev2", owner="a")
    assert await store.claim(E, "ev2", owner="b") is Claim.DONE
    await store.release(E, "ev2", owner="a")  # a done record is never released
    record = await store.get(E, "ev2")
    assert record is not None
    assert record.status is RecordStatus.DONE
    clock.now += 29 * 86400
    assert await store.claim(E, "ev2", owner="b") is Claim.DONE
    clock.now += 2 * 86400  # past the TTL, even if DynamoDB has not deleted it yet
    assert await store.get(E, "ev2") is None
    assert await store.claim(E, "ev2", owner="b") is Claim.ACQUIRED


async def test_an_expired_claim_is_retaken_and_a_renewed_one_is_not(
    store: IdempotencyStore, clock: Clock
) -> None:
    assert await store.claim(E, "ev3", owner="crashed") is Claim.ACQUIRED
    clock.now += 61
    assert await store.claim(E, "ev3", owner="b") is Claim.ACQUIRED
    clock.now += 50
    assert await store.renew(E, "ev3", owner="b")
    clock.now += 50
    assert await store.claim(E, "ev3", owner="c") is Claim.HELD
    assert not await store.renew(E, "ev3", owner="crashed")


async def test_clear_forgets_a_done_record(store: IdempotencyStore) -> None:
    await store.claim(E, "ev4", owner="a")
    await store.mark_done(E, "ev4", owner="a")
    await store.clear(E, "ev4")
    assert await store.claim(E, "ev4", owner="b") is Claim.ACQUIRED


def _healthcheck(*args: str, env: dict[str, str] | None = None) -> int:
    command = [sys.executable, "-m", "lovia_billing.consumer.healthcheck", *args]
    return subprocess.run(
        command, env={**os.environ, **(env or {})}, capture_output=True, check=False
    ).returncode


def test_healthcheck_is_healthy_only_while_the_heartbeat_is_fresh(tmp_path: Path) -> None:
    heartbeat = tmp_path / "health"
    assert _healthcheck("--file", str(heartbeat)) == 1  # missing
    heartbeat.touch()
    assert _healthcheck(env={"HEALTH_FILE": str(heartbeat)}) == 0
    old = time.time() - 120
    os.utime(heartbeat, (old, old))
    assert _healthcheck("--file", str(heartbeat)) == 1
    assert _healthcheck("--file", str(heartbeat), "--max-age", "300") == 0


async def test_the_consumer_touches_its_heartbeat_file(make_settings: Any, tmp_path: Path) -> None:
    from billing_testing.consumer_harness import running, wait_until
    from billing_testing.example_consumer import build

    heartbeat = tmp_path / "health"
    settings = make_settings(health_file=str(heartbeat))
    async with running(build(settings), settings):
        await wait_until(heartbeat.exists, within=5)
        first = heartbeat.stat().st_mtime
        await wait_until(lambda: heartbeat.stat().st_mtime > first, within=5)


def test_max_receive_count_gives_each_event_at_least_the_retry_budget_and_not_a_receive_more() -> None:
    defaults = ConsumerSettings()
    base, cap = defaults.consumer_backoff_base, defaults.consumer_backoff_cap
    budget = RETRY_BUDGET_HOURS * 3600
    assert cap == MAX_VISIBILITY_SECONDS  # the backoff grows to SQS's own limit
    assert shortest_retry_seconds(MAX_RECEIVE_COUNT, base=base, cap=cap) >= budget
    assert shortest_retry_seconds(MAX_RECEIVE_COUNT - 1, base=base, cap=cap) < budget  # sized, not padded
    assert Topology("production").queue(E).max_receive_count == MAX_RECEIVE_COUNT


def test_the_time_scale_shrinks_the_retry_budget_for_tests() -> None:
    scaled = ConsumerSettings(consumer_time_scale=0.001)
    budget = shortest_retry_seconds(
        MAX_RECEIVE_COUNT,
        base=scaled.scaled(scaled.consumer_backoff_base),
        cap=scaled.scaled(scaled.consumer_backoff_cap),
    )
    assert 60 < budget < 180  # whole-second visibilities round the small delays up
    with pytest.raises(ValueError, match="PROBE_CAP"):
        ConsumerSettings(consumer_breaker_probe_seconds=10, consumer_breaker_probe_cap_seconds=5)
