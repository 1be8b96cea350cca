"""The ingest's output as a process: one JSON line per event, every refusal logged once, no secrets.

``billing-ingest`` runs as it does in a container (its own ``main``: uvicorn, the logging set-up),
and what it writes to stdout and stderr is read back line by line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import CUSTOMER, INVOICE_REQUEST
from billing_testing.servers import free_port
from lovia_billing.topology import Topology

API_KEY = "logs-api-key-must-not-be-logged"
TOKEN = "logs-callback-token-must-not-be-logged"
WRONG_TOKEN = "a-wrong-token-must-not-be-logged"
BODY_MARKER = "body-content-must-not-be-logged"


@pytest.fixture
def ingest_process(topology: Topology, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    port = free_port()
    log_path = tmp_path / "ingest.log"
    env = {
        **os.environ,
        "BILLING_STAGE": topology.stage,
        "BILLING_API_KEYS": API_KEY,
        "XENDIT_CALLBACK_TOKEN": TOKEN,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "billing-ingest")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url, log_path, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "billing-ingest exited"
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("billing-ingest not ready within 30 s")


def test_each_refusal_is_one_json_line_with_route_status_code_and_request_id(
    ingest_process: tuple[str, Path, subprocess.Popen[bytes]], queues: QueueReader
) -> None:
    url, log_path, process = ingest_process
    api = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}
    customer = json.dumps({**CUSTOMER, "name": BODY_MARKER})
    conflicting = json.dumps({**INVOICE_REQUEST, "description": BODY_MARKER})  # same invoice, other body
    sent: dict[str, tuple[str, str, dict[str, str], str | bytes]] = {
        "rid-401-token": (
            "POST",
            "/webhooks/xendit/invoice",
            {"x-callback-token": WRONG_TOKEN, "content-type": "application/json"},
            customer,
        ),
        "rid-401-key": ("PUT", "/v1/customers/cus_logs", {"content-type": "application/json"}, customer),
        "rid-415": ("PUT", "/v1/customers/cus_logs", {**api, "content-type": "text/plain"}, customer),
        "rid-413": ("PUT", "/v1/customers/cus_logs", api, json.dumps({"name": BODY_MARKER * 3000})),
        "rid-400": ("PUT", "/v1/customers/cus_logs", api, "{" + BODY_MARKER),
        "rid-422": ("PUT", "/v1/customers/cus_logs", api, json.dumps({"email": BODY_MARKER})),
        "rid-202": ("POST", "/v1/invoices", api, json.dumps(INVOICE_REQUEST)),
        "rid-409": ("POST", "/v1/invoices", api, conflicting),
    }
    statuses = {}
    with httpx.Client(base_url=url, timeout=10) as http:
        for rid, (method, path, headers, body) in sent.items():
            response = http.request(method, path, headers={**headers, "x-request-id": rid}, content=body)
            statuses[rid] = response.status_code
        queues.sqs.delete_queue(QueueUrl=queues.url("mautic"))  # SQS now refuses the customer's event
        response = http.put(
            "/v1/customers/cus_logs", headers={**api, "x-request-id": "rid-503"}, content=customer
        )
        statuses["rid-503"] = response.status_code
    assert statuses == {rid: int(rid.split("-")[1]) for rid in statuses}

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    output = log_path.read_text()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON

    refused = [line for line in lines if line["message"] == "request refused"]
    by_id: dict[str, list[dict[str, Any]]] = {}
    for line in refused:
        by_id.setdefault(line["request_id"], []).append(line)
    assert sorted(by_id) == sorted(rid for rid in statuses if rid != "rid-202")
    for rid, found in by_id.items():
        assert len(found) == 1, found  # once
        (line,) = found
        assert line["status"] == statuses[rid]
        assert line["error_code"]
        assert line["route"] in ("/webhooks/xendit/invoice", "/v1/customers/{customer_id}", "/v1/invoices")
    assert by_id["rid-400"][0]["error_code"] == "malformed_json"
    assert by_id["rid-409"][0]["error_code"] == "conflict"
    assert by_id["rid-503"][0]["error_code"] == "unavailable"
    assert by_id["rid-503"][0]["failed_queues"] == [queues.topology.queue_name("mautic")]
    assert [line["message"] for line in lines].count("ingest started") == 1
    assert [line["request_id"] for line in lines if line["message"] == "accepted"] == ["rid-202"]
    for secret in (API_KEY, TOKEN, WRONG_TOKEN, BODY_MARKER):
        assert secret not in output
