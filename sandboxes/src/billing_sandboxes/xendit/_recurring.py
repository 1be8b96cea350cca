"""Subscriptions (``/recurring/plans`` and their cycles), legacy ``api-version: 2022-10-01`` shapes.

A created plan is ACTIVE with its first cycle (IMMEDIATE and PENDING with ``immediate_action_type:
FULL_AMOUNT``, else SCHEDULED at ``schedule.anchor_date``): ``recurring.plan.activated`` and
``recurring.cycle.created`` go to ``<base>/recurring``. Test mode's ``POST /recurring/plans/
{plan_id}/cycles/{cycle_id}/simulate`` charges the cycle through the Payments API: a payment
request and its ``py-…`` payment (``payment.succeeded`` to ``<base>/payment``, carrying the cycle's
metadata), the cycle SUCCEEDED with that ``payment_id`` in ``attempt_details``
(``recurring.cycle.succeeded``), then the next cycle (``recurring.cycle.created``) or, after
``total_recurrence`` cycles, the plan INACTIVE (``recurring.plan.inactivated``). The side door
fails a cycle instead (``recurring.cycle.failed`` and ``payment.failed``).
"""

from __future__ import annotations

import calendar
import uuid
from datetime import datetime, timedelta
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from billing_sandboxes.xendit import _payment_requests
from billing_sandboxes.xendit._callbacks import DEFAULT_OPTIONS, Delivery, DeliveryOptions
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError, not_found, validation_error
from billing_sandboxes.xendit._http import AnyRequest, json_response, page, parse, read_json
from billing_sandboxes.xendit._payment_methods import build_payment_method
from billing_sandboxes.xendit._payment_requests import Failure
from billing_sandboxes.xendit._store import Record
from billing_sandboxes.xendit._validate import (
    amount,
    body_object,
    metadata,
    one_of,
    optional_object,
    optional_str,
    required_str,
)

INTERVALS = ("DAY", "WEEK", "MONTH", "YEAR")
CURRENCIES = ("IDR", "PHP", "USD", "THB", "VND", "MYR")
SIMULABLE = ("SCHEDULED", "PENDING", "RETRYING")


def _after(moment: datetime, interval: str, count: int) -> datetime:
    if interval == "DAY":
        return moment + timedelta(days=count)
    if interval == "WEEK":
        return moment + timedelta(weeks=count)
    months = count * (12 if interval == "YEAR" else 1)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _schedule(raw: Any, reference_id: str, moment: datetime) -> Record:
    if not isinstance(raw, dict):
        raise validation_error("schedule is required")
    interval = one_of(raw.get("interval"), "schedule.interval", INTERVALS)
    count = raw.get("interval_count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 365:
        raise validation_error("schedule.interval_count must be an integer between 1 and 365")
    total = raw.get("total_recurrence")
    if total is not None and (not isinstance(total, int) or not 1 <= total <= 32000):
        raise validation_error("schedule.total_recurrence must be an integer between 1 and 32000")
    anchor = raw.get("anchor_date")
    if anchor is not None:
        try:
            datetime.fromisoformat(anchor)
        except (TypeError, ValueError):
            raise validation_error("schedule.anchor_date must be an ISO-8601 date-time") from None
    return {
        "id": f"resc-{uuid.uuid4()}",
        "reference_id": raw.get("reference_id") or reference_id,
        "business_id": None,
        "interval": interval,
        "interval_count": count,
        "total_recurrence": total,
        "anchor_date": anchor or iso(moment),
        "retry_interval": raw.get("retry_interval"),
        "retry_interval_count": raw.get("retry_interval_count"),
        "total_retry": raw.get("total_retry"),
        "failed_attempt_notifications": raw.get("failed_attempt_notifications", []),
        "created": iso(moment),
        "updated": iso(moment),
    }


def _payment_methods(sandbox: XenditSandbox, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 5:
        raise validation_error("payment_methods must be an array of at most 5 entries")
    for entry in raw:
        method_id = entry.get("payment_method_id") if isinstance(entry, dict) else None
        if not isinstance(method_id, str) or not isinstance(entry.get("rank"), int):
            raise validation_error("payment_methods entries require payment_method_id and rank")
        method = sandbox.payment_methods.find(method_id)
        if method is None or method["status"] != "ACTIVE":
            raise XenditApiError(
                400,
                "INVALID_PAYMENT_METHOD_ID",
                f"The payment_method_id {method_id} does not exist or is not ACTIVE. "
                "Please retry with a valid payment_method_id.",
            )
    return sorted(raw, key=lambda entry: entry["rank"])


def _immediate_action(value: Any) -> str | None:
    return None if value is None else one_of(value, "immediate_action_type", ("FULL_AMOUNT",))


def build_plan(sandbox: XenditSandbox, body: dict[str, Any], moment: datetime) -> Record:
    reference_id = required_str(body, "reference_id")
    business_id = sandbox.config.business_id
    schedule = _schedule(body.get("schedule"), reference_id, moment) | {"business_id": business_id}
    return {
        "id": f"repl-{uuid.uuid4()}",
        "reference_id": reference_id,
        "business_id": business_id,
        "customer_id": required_str(body, "customer_id"),
        "recurring_action": one_of(body.get("recurring_action"), "recurring_action", ("PAYMENT",)),
        "recurring_cycle_count": 0,
        "currency": one_of(body.get("currency"), "currency", CURRENCIES),
        "amount": amount(body.get("amount"), positive=False),
        "status": "ACTIVE",
        "payment_methods": _payment_methods(sandbox, body.get("payment_methods")),
        "schedule_id": schedule["id"],
        "schedule": schedule,
        "immediate_action_type": _immediate_action(body.get("immediate_action_type")),
        "notification_config": optional_object(body, "notification_config"),
        "failed_cycle_action": one_of(
            body.get("failed_cycle_action"), "failed_cycle_action", ("RESUME", "STOP"), default="RESUME"
        ),
        "metadata": metadata(body.get("metadata"), max_keys=20, max_value=80),
        "description": optional_str(body, "description"),
        "items": body.get("items"),
        "actions": [],
        "failure_code": None,
        "success_return_url": optional_str(body, "success_return_url"),
        "failure_return_url": optional_str(body, "failure_return_url"),
        "created": iso(moment),
        "updated": iso(moment),
    }


def _new_cycle(
    sandbox: XenditSandbox,
    plan: Record,
    scheduled: datetime,
    *,
    immediate: bool = False,
    options: DeliveryOptions,
) -> tuple[Record, list[Delivery]]:
    number = plan["recurring_cycle_count"] + 1
    moment = iso(now())
    cycle = sandbox.cycles.add(
        {
            "id": f"recy-{uuid.uuid4()}",
            "type": "IMMEDIATE" if immediate else "SCHEDULED",
            "reference_id": plan["reference_id"],
            "plan_id": plan["id"],
            "customer_id": plan["customer_id"],
            "recurring_action": plan["recurring_action"],
            "cycle_number": number,
            "attempt_count": 0,
            "attempt_details": [],
            "status": "PENDING" if immediate else "SCHEDULED",
            "scheduled_timestamp": iso(scheduled),
            "currency": plan["currency"],
            "amount": plan["amount"],
            "metadata": plan["metadata"],
            "created": moment,
            "updated": moment,
        }
    )
    sandbox.plans.update(plan["id"], {"recurring_cycle_count": number, "updated": moment})
    return cycle, sandbox.send_event("recurring", "recurring.cycle.created", cycle, options=options)


def _inactivate(
    sandbox: XenditSandbox, plan_id: str, options: DeliveryOptions
) -> tuple[Record, list[Delivery]]:
    moment = iso(now())
    for cycle in sandbox.cycles.where(lambda c: c["plan_id"] == plan_id and c["status"] in SIMULABLE):
        sandbox.cycles.update(cycle["id"], {"status": "CANCELLED", "updated": moment})
    plan = sandbox.plans.update(plan_id, {"status": "INACTIVE", "updated": moment})
    return plan, sandbox.send_event("recurring", "recurring.plan.inactivated", plan, options=options)


def _cycle(sandbox: XenditSandbox, plan_id: str, cycle_id: str) -> Record:
    sandbox.plans.get(plan_id)
    cycle = sandbox.cycles.get(cycle_id)
    if cycle["plan_id"] != plan_id:
        raise not_found("Recurring cycle_id", cycle_id)
    return cycle


def _charge(sandbox: XenditSandbox, plan: Record, cycle: Record) -> str:
    """A payment request for the cycle through the plan's first payment method; its id."""
    if plan["payment_methods"]:
        method_id = plan["payment_methods"][0]["payment_method_id"]
    else:  # a plan without a linked method: charge a stand-in e-wallet so the payment has a shape
        stand_in = build_payment_method(
            {"type": "EWALLET", "reusability": "ONE_TIME_USE", "ewallet": {"channel_code": "OVO"}},
            business_id=plan["business_id"],
            moment=now(),
            currency=plan["currency"],
            customer_id=plan["customer_id"],
        )
        method_id = sandbox.payment_methods.add(stand_in)["id"]
    body = {
        "reference_id": cycle["reference_id"],
        "currency": cycle["currency"],
        "amount": cycle["amount"],
        "payment_method_id": method_id,
        "customer_id": cycle["customer_id"],
        "description": plan["description"],
        "metadata": cycle["metadata"],
    }
    return str(_payment_requests.create(sandbox, body)["id"])


def settle_cycle(
    sandbox: XenditSandbox,
    plan_id: str,
    cycle_id: str,
    *,
    failure_code: str | None = None,
    options: DeliveryOptions = DEFAULT_OPTIONS,
) -> tuple[Record, list[Delivery]]:
    """One attempt on the cycle: SUCCEEDED (or FAILED with ``failure_code``) and what follows."""
    cycle = _cycle(sandbox, plan_id, cycle_id)
    plan = sandbox.plans.get(plan_id)
    if cycle["status"] not in SIMULABLE or plan["status"] != "ACTIVE":
        raise XenditApiError(
            403,
            "INELIGIBLE_CYCLE_REQUEST",
            f"Requested changes to cycle cannot be processed. The cycle is {cycle['status']} "
            f"and its plan {plan['status']}.",
        )
    request_id = _charge(sandbox, plan, cycle)
    if failure_code is None:
        payment, sent = _payment_requests.succeed(sandbox, request_id, options=options)
    else:
        payment, sent = _payment_requests.fail(sandbox, request_id, failure_code, options)
    moment = iso(now())
    attempt = {
        "attempt_number": cycle["attempt_count"] + 1,
        "created": moment,
        "action_id": request_id,
        "payment_id": payment["id"],
        "status": payment["status"],
        "failure_code": failure_code,
        "next_retry_timestamp": None,
    }
    changes = {
        "attempt_count": attempt["attempt_number"],
        "attempt_details": [*cycle["attempt_details"], attempt],
        "status": payment["status"],
        "updated": moment,
    }
    cycle = sandbox.cycles.update(cycle_id, changes)
    event = "recurring.cycle.succeeded" if failure_code is None else "recurring.cycle.failed"
    sent += sandbox.send_event("recurring", event, cycle, options=options)
    total = plan["schedule"]["total_recurrence"]
    if (failure_code is not None and plan["failed_cycle_action"] == "STOP") or (
        total is not None and plan["recurring_cycle_count"] >= total
    ):
        sent += _inactivate(sandbox, plan_id, options)[1]
    else:
        schedule = plan["schedule"]
        scheduled = datetime.fromisoformat(cycle["scheduled_timestamp"])
        following = _after(scheduled, schedule["interval"], schedule["interval_count"])
        sent += _new_cycle(sandbox, plan, following, options=options)[1]
    return cycle, sent


def api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/recurring/plans", status_code=202)
    async def create(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        plan = sandbox.plans.add(build_plan(sandbox, body, now()))
        sandbox.send_event("recurring", "recurring.plan.activated", plan)
        immediate = plan["immediate_action_type"] == "FULL_AMOUNT"
        first = now() if immediate else datetime.fromisoformat(plan["schedule"]["anchor_date"])
        _new_cycle(sandbox, plan, first, immediate=immediate, options=DEFAULT_OPTIONS)
        return json_response(sandbox.plans.get(plan["id"]), 202, headers)

    @get("/recurring/plans/{plan_id:str}")
    async def get_plan(request: AnyRequest, plan_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(sandbox.plans.get(plan_id), headers=headers)

    @post("/recurring/plans/{plan_id:str}/deactivate", status_code=200)
    async def deactivate(request: AnyRequest, plan_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        plan = sandbox.plans.get(plan_id)
        if plan["status"] != "INACTIVE":
            plan, _ = _inactivate(sandbox, plan_id, DEFAULT_OPTIONS)
        return json_response(plan, headers=headers)

    @get("/recurring/plans/{plan_id:str}/cycles")
    async def list_cycles(request: AnyRequest, plan_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        sandbox.plans.get(plan_id)
        found = sandbox.cycles.where(lambda cycle: cycle["plan_id"] == plan_id)
        return json_response(page(request, found), headers=headers)

    @get("/recurring/plans/{plan_id:str}/cycles/{cycle_id:str}")
    async def get_cycle(
        request: AnyRequest, plan_id: FromPath[str], cycle_id: FromPath[str]
    ) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(_cycle(sandbox, plan_id, cycle_id), headers=headers)

    @post("/recurring/plans/{plan_id:str}/cycles/{cycle_id:str}/simulate", status_code=200)
    async def simulate(
        request: AnyRequest, plan_id: FromPath[str], cycle_id: FromPath[str]
    ) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        amount(body.get("amount"), positive=False)
        cycle, _ = settle_cycle(sandbox, plan_id, cycle_id)
        return json_response(cycle, headers=headers)

    return [create, get_plan, deactivate, list_cycles, get_cycle, simulate]


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/_sandbox/recurring/plans/{plan_id:str}/cycles/{cycle_id:str}/succeed", status_code=200)
    async def side_succeed(
        request: AnyRequest, plan_id: FromPath[str], cycle_id: FromPath[str]
    ) -> Response[bytes]:
        options: DeliveryOptions = parse(DeliveryOptions, await read_json(request))
        cycle, sent = settle_cycle(sandbox, plan_id, cycle_id, options=options)
        return json_response({"cycle": cycle, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/recurring/plans/{plan_id:str}/cycles/{cycle_id:str}/fail", status_code=200)
    async def side_fail(
        request: AnyRequest, plan_id: FromPath[str], cycle_id: FromPath[str]
    ) -> Response[bytes]:
        order: Failure = parse(Failure, await read_json(request))
        cycle, sent = settle_cycle(sandbox, plan_id, cycle_id, failure_code=order.failure_code, options=order)
        return json_response({"cycle": cycle, "callbacks": [d.id for d in sent]})

    return [side_succeed, side_fail]
