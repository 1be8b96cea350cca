"""``billing dev`` (what ``make run`` runs) as a real process: up, a callback lands, SIGINT stops it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import psutil
import pytest

from billing_testing.samples import INVOICE_PAID_CALLBACK

PORT_OFFSET = 21000  # every port of the stack moves by this, away from a developer's `make run`


@pytest.mark.slow
def test_billing_dev_starts_everything_queues_a_callback_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    if any(_port_taken(p + PORT_OFFSET) for p in (3005, 4001, 4002, 4003, 4004, 4566)):
        pytest.fail("the test's ports are taken; another stack with the same offset is running")
    billing = Path(sys.executable).parent / "billing"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [
            str(billing),
            "dev",
            "--stage",
            "devtest",
            "--port-offset",
            str(PORT_OFFSET),
            "--logs",
            str(tmp_path / "logs"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output = _read_until(process, "Local stack up", timeout=90)
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 10, output  # stand-in, 4 sandboxes, ingest, 4 consumers
        ingest = f"http://127.0.0.1:{3005 + PORT_OFFSET}"
        assert httpx.get(f"{ingest}/").status_code == 200
        response = httpx.post(
            f"{ingest}/webhooks/xendit/invoice",
            content=json.dumps(INVOICE_PAID_CALLBACK),
            headers={"x-callback-token": "local-callback-token", "content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
        env_file = (tmp_path / "env").read_text()
        assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{4566 + PORT_OFFSET}" in env_file
        # billing reconcile reads the sandboxes like the consumers: their URLs and local keys too.
        assert f"XENDIT_BASE_URL=http://127.0.0.1:{4001 + PORT_OFFSET}" in env_file
        assert "ERPNEXT_API_KEY=" in env_file
        assert _ledger_has(response.json()["event_id"], 4566 + PORT_OFFSET)

        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=45) == 0
        assert time.monotonic() - started < 40
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _ledger_has(event_id: str, aws_port: int) -> bool:
    dynamodb = boto3.client(
        "dynamodb",
        region_name="ap-southeast-1",
        endpoint_url=f"http://127.0.0.1:{aws_port}",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    item = dynamodb.get_item(TableName="devtest-billing-ledger", Key={"event_id": {"S": event_id}}).get(
        "Item"
    )
    return item is not None and item["routed_to"]["L"] == [{"S": "xendit"}]


def _read_until(process: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = process.stdout.read() or b""
        seen += chunk
        if marker.encode() in seen:
            return seen.decode(errors="replace")
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"billing dev did not say {marker!r}:\n{seen.decode(errors='replace')}")


def _port_taken(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
