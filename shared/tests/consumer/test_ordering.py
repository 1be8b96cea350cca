"""Order within a message group, with many groups in flight, and after a failure in a group."""

from __future__ import annotations

import itertools
from typing import Any

from billing_testing.consumer_harness import running, wait_until
from billing_testing.example_consumer import build


def _by_group(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r["at"]):
        groups.setdefault(record["customer_id"], []).append(record)
    return groups


def _max_concurrent_groups(effects: list[dict[str, Any]]) -> int:
    """Most groups whose handler intervals [started_at, at] overlap at one instant."""
    edges = sorted([(e["started_at"], 1) for e in effects] + [(e["at"], -1) for e in effects])
    best = current = 0
    for _, step in edges:
        current += step
        best = max(best, current)
    return best


async def test_order_is_kept_in_each_group_while_many_groups_run_at_once(
    make_settings: Any, recorder: Any, publish: Any
) -> None:
    rec, _ = recorder
    await publish({f"cus_{g:02d}": 4 for g in range(12)})
    settings = make_settings(example_sleep_seconds=0.3, consumer_concurrency=16)
    async with running(build(settings), settings):
        await wait_until(lambda: len(rec.effects) == 48, within=30)

    for customer, effects in _by_group(rec.effects).items():
        assert [e["seq"] for e in effects] == ["0000", "0001", "0002", "0003"], customer
        for earlier, later in itertools.pairwise(effects):
            assert earlier["at"] <= later["started_at"], f"{customer}: two messages of one group overlapped"
    assert _max_concurrent_groups(rec.effects) >= 10


async def test_a_failure_stops_its_group_which_resumes_in_order_after_redelivery(
    make_settings: Any, recorder: Any, publish: Any
) -> None:
    rec, _ = recorder
    events = await publish({"cus_fail": 4, "cus_ok": 4})
    failing = next(e for e in events if e.customer_id == "cus_fail" and e.request_key == "0001")
    rec.fail(failing.event_id, 503, times=1)
    settings = make_settings(consumer_backoff_base=1.0, consumer_backoff_cap=1.0)
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: len(rec.effects) == 8, within=20)
        assert consumer.metrics.totals["retried"] == 1

    attempts = [(a["seq"], a["status"]) for a in _by_group(rec.attempts)["cus_fail"]]
    # Nothing behind the failed message ran before its successful retry.
    assert attempts == [("0000", 200), ("0001", 503), ("0001", 200), ("0002", 200), ("0003", 200)]
    assert [e["seq"] for e in _by_group(rec.effects)["cus_ok"]] == ["0000", "0001", "0002", "0003"]
