"""AWS stops answering (the stand-in process SIGSTOPped): every request is still answered in time.

The stand-in here is a process of its own (not the session's in-process one), so it can be frozen
as a host that stops answering is: connections are accepted by the kernel and requests are
buffered, never answered, until it is thawed, when it processes them all late.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import CUSTOMER, INVOICE_PAID_CALLBACK, INVOICE_REQUEST, RECURRING_CYCLE_CALLBACK
from billing_testing.servers import free_port, wait_for_http
from ingest.app import create_app
from lovia_billing import EventType, IngestSettings, derive_event_id
from lovia_billing.provision import provision
from lovia_billing.topology import Integration, Topology

REGION = "ap-southeast-1"
API_KEY = "deadline-api-key"
TOKEN = "deadline-callback-token"
DEADLINE = 2.0
#: Scheduling on a busy 2-core machine: an answer may leave this much after the deadline.
SLACK = 0.75


@dataclass
class StandIn:
    url: str
    process: subprocess.Popen[bytes]

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Stopped (SIGSTOP) for the block: it neither answers nor refuses."""
        os.killpg(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self.process.pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "billing_sandboxes", "aws", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url, timeout=30)
        yield StandIn(url, process)
    finally:
        os.killpg(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stage_on_stand_in(stand_in: StandIn, monkeypatch: pytest.MonkeyPatch, stage: str) -> Topology:
    """A fresh stage on the freezable stand-in; boto3 and the ingest both talk to it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", stand_in.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    topology = Topology(stage)
    provision(topology, region=REGION)
    return topology


#: What ends a request AWS does not answer: the deadline first (the AWS timeouts and retries take
#: longer), or botocore first (one short attempt per call, the deadline far away).
LIMITS = {
    "deadline": {"answer_deadline_seconds": DEADLINE, "aws_read_timeout_seconds": 1.5, "aws_max_attempts": 2},
    "aws_timeouts": {"answer_deadline_seconds": 8.0, "aws_read_timeout_seconds": 0.3, "aws_max_attempts": 1},
}


@pytest.fixture(params=["deadline"])
def ingest(
    request: pytest.FixtureRequest, stage_on_stand_in: Topology, serve_asgi: Callable[[Any], str]
) -> str:
    settings = IngestSettings(
        billing_stage=stage_on_stand_in.stage,
        billing_api_keys=API_KEY,
        xendit_callback_token=TOKEN,
        aws_connect_timeout_seconds=0.3,
        ready_timeout_seconds=0.5,
        **LIMITS[request.param],
    )
    return serve_asgi(create_app(settings))


def _requests() -> list[tuple[str, str, dict[str, Any], dict[str, str], str]]:
    """(method, path, body, headers, the event id it would queue) — one of each kind of write."""
    api = {"Authorization": f"Bearer {API_KEY}"}
    callback = {"x-callback-token": TOKEN}
    key = "frozen-put-1"
    return [
        (
            "PUT",
            "/v1/customers/cus_frozen",
            CUSTOMER,
            {**api, "Idempotency-Key": key},
            derive_event_id(EventType.CUSTOMER_UPSERTED.value, "cus_frozen", key),
        ),
        (
            "POST",
            "/v1/invoices",
            INVOICE_REQUEST,
            api,
            derive_event_id(EventType.INVOICE_REQUESTED.value, INVOICE_REQUEST["invoice_id"]),
        ),
        (
            "POST",
            "/webhooks/xendit/invoice",
            INVOICE_PAID_CALLBACK,
            callback,
            derive_event_id("xendit.invoice.paid", INVOICE_PAID_CALLBACK["id"], "PAID"),
        ),
        ("POST", "/webhooks/xendit/recurring", RECURRING_CYCLE_CALLBACK, callback, ""),
    ]


def _raw_statuses(topology: Topology, event_id: str) -> dict[str, str] | None:
    """The ledger item's stored statuses, as written (not as read through the grace period)."""
    item = (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=topology.ledger_table, Key={"event_id": {"S": event_id}}, ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        return None
    return {i.value: item[f"st_{i.value}"]["S"] for i in Integration if f"st_{i.value}" in item}


@pytest.mark.parametrize(
    ("ingest", "code"),
    [("deadline", "deadline_exceeded"), ("aws_timeouts", "unavailable")],
    indirect=["ingest"],
)
def test_frozen_aws_every_write_is_503_within_the_deadline_and_nothing_is_left_half_written(
    ingest: str, code: str, stand_in: StandIn, stage_on_stand_in: Topology
) -> None:
    deadline_seconds = LIMITS["deadline" if code == "deadline_exceeded" else "aws_timeouts"][
        "answer_deadline_seconds"
    ]
    queues = QueueReader(stage_on_stand_in)
    with httpx.Client(base_url=ingest, timeout=30) as http:
        warm = http.post("/webhooks/xendit/fva", json={}, headers={"x-callback-token": TOKEN})
        assert warm.status_code == 422  # wired up; nothing queued
        with stand_in.frozen():
            answers = []
            for method, path, body, headers, _event_id in _requests():
                started = time.monotonic()
                response = http.request(method, path, json=body, headers=headers)
                answers.append((path, response, time.monotonic() - started))
            started = time.monotonic()
            assert http.get("/").status_code == 200  # liveness asks nothing
            assert time.monotonic() - started < 0.5

        for path, response, seconds in answers:
            assert response.status_code == 503, (path, response.text)
            assert seconds < deadline_seconds + SLACK, (path, seconds)
            assert response.headers["retry-after"] == "5"
            error = response.json()["error"]
            assert error["code"] == code, error
            if code == "deadline_exceeded":
                assert f"{DEADLINE:g} s deadline" in error["message"]
            else:  # botocore gave up first, long before the deadline
                assert seconds < 3, (path, seconds)

        # Thawed: the stand-in now processes the requests it buffered (the ledger writes among
        # them); the clean-up marks what they wrote not_queued — long before the 60 s grace would.
        written = [event_id for *_, event_id in _requests() if event_id]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            statuses = {e: _raw_statuses(stage_on_stand_in, e) for e in written}
            if all(s is None or set(s.values()) == {"not_queued"} for s in statuses.values()):
                break
            time.sleep(0.5)
        assert all(s is None or set(s.values()) == {"not_queued"} for s in statuses.values()), statuses
        assert any(s is not None for s in statuses.values()), "no ledger write reached the stand-in"
        assert queues.total() == 0  # nothing answered 503 is on a queue

        # Sent again, each is taken (the Idempotency-Key was released: not 409) and queued once.
        for method, path, body, headers, event_id in _requests():
            response = http.request(method, path, json=body, headers=headers)
            assert response.status_code in (200, 202), (path, response.text)
            if event_id:
                assert response.json()["event_id"] == event_id
                assert set((_raw_statuses(stage_on_stand_in, event_id) or {}).values()) == {"queued"}
        assert queues.count("xendit") == 3  # invoice.requested and both callbacks
        assert queues.count("erpnext") == queues.count("chartmogul") == queues.count("mautic") == 1


def test_readiness_answers_503_within_its_timeout_when_aws_is_frozen(ingest: str, stand_in: StandIn) -> None:
    with httpx.Client(base_url=ingest, timeout=30) as http:
        assert http.get("/health/ready").status_code == 200
        with stand_in.frozen():
            started = time.monotonic()
            ready = http.get("/health/ready")
            seconds = time.monotonic() - started
        assert ready.status_code == 503
        assert seconds < 0.5 + SLACK
        error = ready.json()["error"]
        assert error["code"] == "not_ready"
        failed = {d["field"]: d["message"] for d in error["details"]}
        # Queue URLs are cached, so every dependency is asked and none answers.
        assert len(failed) == 6, failed
        assert set(failed.values()) == {"no answer within 0.5 s"}
        # Thawed, the stand-in first works off what was sent while it was stopped: ready again soon.
        deadline = time.monotonic() + 10
        while http.get("/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "not ready again within 10 s of AWS answering"
            time.sleep(0.2)
