"""Subscriptions in the sandbox: a plan and its cycles, the test-mode cycle payment, and the
``recurring.*`` webhooks plus the ``payment.succeeded`` of the same ``py-`` payment."""

from __future__ import annotations

from typing import Any

import httpx

from billing_testing.consumer_harness import wait_until
from billing_testing.webhooks import WebhookReceiver


async def _plan(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {
        "reference_id": "sub-cus-1",
        "customer_id": "cust-1",
        "recurring_action": "PAYMENT",
        "currency": "IDR",
        "amount": 99000,
        "schedule": {"interval": "MONTH", "interval_count": 1, "total_recurrence": 2},
        "immediate_action_type": "FULL_AMOUNT",
        "failed_cycle_action": "STOP",
        "metadata": {"lovia_subscription_id": "sub-1"},
        "description": "Lovia Basic",
        **fields,
    }
    response = await client.post("/recurring/plans", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def _cycles(client: httpx.AsyncClient, plan_id: str) -> list[dict[str, Any]]:
    listed = (await client.get(f"/recurring/plans/{plan_id}/cycles")).json()
    return list(reversed(listed["data"]))  # oldest first


async def test_a_plan_is_active_with_its_first_cycle_and_says_so(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    plan = await _plan(xendit)
    assert plan["id"].startswith("repl-")
    assert (plan["status"], plan["recurring_cycle_count"], plan["schedule"]["interval"]) == (
        "ACTIVE",
        1,
        "MONTH",
    )
    [cycle] = await _cycles(xendit, plan["id"])
    assert cycle["id"].startswith("recy-")
    assert (cycle["type"], cycle["status"], cycle["cycle_number"], cycle["attempt_count"]) == (
        "IMMEDIATE",
        "PENDING",
        1,
        0,
    )
    assert (cycle["plan_id"], cycle["reference_id"], cycle["customer_id"]) == (
        plan["id"],
        "sub-cus-1",
        "cust-1",
    )
    assert cycle["metadata"] == {"lovia_subscription_id": "sub-1"}
    await wait_until(lambda: len(hooks.at("/recurring")) == 2, within=5)
    # Two deliveries in flight at once: like Xendit's, their order of arrival is not promised.
    by_event = {r.body["event"]: r.body["data"] for r in hooks.at("/recurring")}
    assert sorted(by_event) == ["recurring.cycle.created", "recurring.plan.activated"]
    assert by_event["recurring.cycle.created"]["id"] == cycle["id"]
    assert by_event["recurring.plan.activated"]["id"] == plan["id"]
    assert (await xendit.get(f"/recurring/plans/{plan['id']}/cycles/{cycle['id']}")).json() == cycle
    scheduled = await _plan(xendit, immediate_action_type=None)
    assert [c["status"] for c in await _cycles(xendit, scheduled["id"])] == ["SCHEDULED"]


async def test_simulating_a_cycle_pays_it_with_one_py_id_on_both_webhooks(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    plan = await _plan(xendit)
    [cycle] = await _cycles(xendit, plan["id"])
    simulated = await xendit.post(
        f"/recurring/plans/{plan['id']}/cycles/{cycle['id']}/simulate", json={"amount": 99000}
    )
    assert simulated.status_code == 200
    paid = simulated.json()
    assert (paid["status"], paid["attempt_count"]) == ("SUCCEEDED", 1)
    [attempt] = paid["attempt_details"]
    assert (attempt["attempt_number"], attempt["status"], attempt["failure_code"]) == (1, "SUCCEEDED", None)
    assert attempt["payment_id"].startswith("py-")
    await wait_until(
        lambda: hooks.events("recurring.cycle.succeeded") and hooks.events("payment.succeeded"), within=5
    )
    succeeded = hooks.events("recurring.cycle.succeeded")[0].body["data"]
    payment = hooks.events("payment.succeeded")[0]
    assert payment.path.endswith("/payment")
    assert (
        succeeded["attempt_details"][0]["payment_id"] == payment.body["data"]["id"] == attempt["payment_id"]
    )
    assert (succeeded["id"], succeeded["plan_id"], succeeded["cycle_number"]) == (cycle["id"], plan["id"], 1)
    assert (succeeded["metadata"], payment.body["data"]["metadata"]) == (
        {"lovia_subscription_id": "sub-1"},
    ) * 2
    assert (payment.body["data"]["amount"], payment.body["data"]["customer_id"]) == (99000, "cust-1")
    request = (await xendit.get(f"/payment_requests/{payment.body['data']['payment_request_id']}")).json()
    assert request["status"] == "SUCCEEDED"
    cycles = await _cycles(xendit, plan["id"])
    assert [(c["cycle_number"], c["status"]) for c in cycles] == [(1, "SUCCEEDED"), (2, "SCHEDULED")]
    again = await xendit.post(
        f"/recurring/plans/{plan['id']}/cycles/{cycle['id']}/simulate", json={"amount": 1}
    )
    assert (again.status_code, again.json()["error_code"]) == (403, "INELIGIBLE_CYCLE_REQUEST")


async def test_the_last_cycle_inactivates_the_plan(xendit: httpx.AsyncClient, hooks: WebhookReceiver) -> None:
    plan = await _plan(xendit)
    for _ in range(2):
        pending = [c for c in await _cycles(xendit, plan["id"]) if c["status"] in ("PENDING", "SCHEDULED")]
        await xendit.post(
            f"/recurring/plans/{plan['id']}/cycles/{pending[0]['id']}/simulate", json={"amount": 0}
        )
    assert (await xendit.get(f"/recurring/plans/{plan['id']}")).json()["status"] == "INACTIVE"
    await wait_until(lambda: len(hooks.events("recurring.plan.inactivated")) == 1, within=5)
    assert len(hooks.events("payment.succeeded")) == 2


async def test_a_failed_cycle_with_stop_inactivates_the_plan(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    plan = await _plan(xendit)
    [cycle] = await _cycles(xendit, plan["id"])
    failed = await xendit.post(
        f"/_sandbox/recurring/plans/{plan['id']}/cycles/{cycle['id']}/fail",
        json={"failure_code": "INSUFFICIENT_BALANCE"},
    )
    assert failed.json()["cycle"]["status"] == "FAILED"
    await wait_until(
        lambda: hooks.events("recurring.cycle.failed") and hooks.events("payment.failed"), within=5
    )
    assert hooks.events("payment.failed")[0].body["data"]["failure_code"] == "INSUFFICIENT_BALANCE"
    assert (await xendit.get(f"/recurring/plans/{plan['id']}")).json()["status"] == "INACTIVE"


async def test_deactivate_cancels_scheduled_cycles(xendit: httpx.AsyncClient, hooks: WebhookReceiver) -> None:
    plan = await _plan(xendit, immediate_action_type=None)
    deactivated = await xendit.post(f"/recurring/plans/{plan['id']}/deactivate")
    assert deactivated.json()["status"] == "INACTIVE"
    assert [c["status"] for c in await _cycles(xendit, plan["id"])] == ["CANCELLED"]
    await wait_until(lambda: len(hooks.events("recurring.plan.inactivated")) == 1, within=5)


async def test_unknown_plans_and_cycles_are_404_and_bad_plans_400(xendit: httpx.AsyncClient) -> None:
    plan = await _plan(xendit)
    missing_plan = await xendit.get("/recurring/plans/repl-missing")
    missing_cycle = await xendit.get(f"/recurring/plans/{plan['id']}/cycles/recy-missing")
    no_schedule = await xendit.post("/recurring/plans", json={"reference_id": "r", "customer_id": "c"})
    bad_method = await xendit.post(
        "/recurring/plans",
        json={
            "reference_id": "r",
            "customer_id": "c",
            "recurring_action": "PAYMENT",
            "currency": "IDR",
            "amount": 1000,
            "schedule": {"interval": "MONTH", "interval_count": 1},
            "payment_methods": [{"payment_method_id": "pm-missing", "rank": 1}],
        },
    )
    assert (missing_plan.status_code, missing_plan.json()["error_code"]) == (404, "DATA_NOT_FOUND")
    assert (missing_cycle.status_code, missing_cycle.json()["error_code"]) == (404, "DATA_NOT_FOUND")
    assert (no_schedule.status_code, no_schedule.json()["error_code"]) == (400, "API_VALIDATION_ERROR")
    assert (bad_method.status_code, bad_method.json()["error_code"]) == (400, "INVALID_PAYMENT_METHOD_ID")
