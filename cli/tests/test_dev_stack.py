"""``billing dev`` (what ``make run`` runs) as a real process: up, a callback lands, SIGINT stops it all;
a component that dies is named and started again (the AWS stand-in with its queues and tables)."""

from __future__ import annotations

import contextlib
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
SUPERVISED_OFFSET = 22000  # the supervision test's stack, so the two never share a port


def _billing_dev(tmp_path: Path, offset: int, stage: str, *extra: str) -> subprocess.Popen[bytes]:
    if any(_port_taken(p + offset) for p in (3005, 4001, 4002, 4003, 4004, 4566)):
        pytest.fail("the test's ports are taken; another stack with the same offset is running")
    billing = Path(sys.executable).parent / "billing"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.Popen(
        [
            str(billing),
            "dev",
            "--stage",
            stage,
            "--port-offset",
            str(offset),
            "--logs",
            str(tmp_path / "logs"),
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _post_callback(ingest: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{ingest}/webhooks/xendit/invoice",
        content=json.dumps(body),
        headers={"x-callback-token": "local-callback-token", "content-type": "application/json"},
        timeout=15,
    )


@pytest.mark.slow
def test_billing_dev_starts_everything_queues_a_callback_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    process = _billing_dev(tmp_path, PORT_OFFSET, "devtest")
    try:
        output = Output(process).until("Local stack up", timeout=90)
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 10, output  # stand-in, 4 sandboxes, ingest, 4 consumers
        ingest = f"http://127.0.0.1:{3005 + PORT_OFFSET}"
        assert httpx.get(f"{ingest}/").status_code == 200
        response = _post_callback(ingest, INVOICE_PAID_CALLBACK)
        assert response.status_code == 200, response.text
        env_file = (tmp_path / "env").read_text()
        assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{4566 + PORT_OFFSET}" in env_file
        # billing reconcile reads the sandboxes like the consumers: their URLs and local keys too.
        assert f"XENDIT_BASE_URL=http://127.0.0.1:{4001 + PORT_OFFSET}" in env_file
        assert "ERPNEXT_API_KEY=" in env_file
        assert _ledger_has(response.json()["event_id"], 4566 + PORT_OFFSET)
        # Component logs are written as they happen (PYTHONUNBUFFERED), not when a buffer fills.
        assert "ingest started" in (tmp_path / "logs" / "ingest.log").read_text()

        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=45) == 0
        assert time.monotonic() - started < 40
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        _stop(process)


@pytest.mark.slow
def test_billing_dev_restarts_a_component_that_died_and_reprovisions_the_aws_stand_in(tmp_path: Path) -> None:
    process = _billing_dev(tmp_path, SUPERVISED_OFFSET, "devsuper", "--max-restarts", "2")
    try:
        output = Output(process)
        output.until("Local stack up", timeout=90)
        ingest = f"http://127.0.0.1:{3005 + SUPERVISED_OFFSET}"
        aws_port = 4566 + SUPERVISED_OFFSET
        before = _post_callback(ingest, INVOICE_PAID_CALLBACK)
        assert before.status_code == 200, before.text

        _child(process, "aws").kill()
        line = output.until("aws died (exit -9); restarting it (1/2)", timeout=30).splitlines()[-1]
        assert "in memory and are lost" in line  # one line says it all
        assert "provisioned again" in line
        output.until("ready  aws", timeout=60)
        # The stand-in is back with the stage's queues and tables (empty): the ingest takes
        # callbacks again and records them.
        assert not _ledger_has(before.json()["event_id"], aws_port, "devsuper")  # what was in memory is gone
        after = _post_callback(ingest, {**INVOICE_PAID_CALLBACK, "id": "after-the-restart"})
        assert after.status_code == 200, after.text
        assert _ledger_has(after.json()["event_id"], aws_port, "devsuper")

        # Any other component: started again, at most --max-restarts times.
        for _ in range(3):
            _child(process, "billing-erpnext-sync").kill()
            said = output.until("erpnext-sync died (exit -9)", timeout=30).splitlines()[-1]
            if "not restarted" in said:
                break
            output.until("running  erpnext-sync", timeout=60)
        assert "erpnext-sync died (exit -9); not restarted: it was restarted 2 times already" in said
        assert process.poll() is None  # the rest of the stack goes on

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=45) == 0
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """After a failure: SIGINT (billing dev stops its children), then SIGKILL what is left of them.

    Its children run in sessions of their own, so killing billing dev's group would leave them.
    """
    if process.poll() is None:
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            for child in [*children, psutil.Process(process.pid)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _child(process: subprocess.Popen[bytes], name: str) -> psutil.Process:
    """The running child of ``billing dev`` whose command line has ``name`` (e.g. ``aws``)."""
    deadline = time.monotonic() + 30  # a child that just died may be on its way back
    while time.monotonic() < deadline:
        for child in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.ZombieProcess, psutil.NoSuchProcess):
                cmdline = child.cmdline()
                if name in cmdline or any(part.endswith(f"/{name}") for part in cmdline):
                    return child
        time.sleep(0.2)
    pytest.fail(f"no running {name} under billing dev")


def _ledger_has(event_id: str, aws_port: int, stage: str = "devtest") -> bool:
    dynamodb = boto3.client(
        "dynamodb",
        region_name="ap-southeast-1",
        endpoint_url=f"http://127.0.0.1:{aws_port}",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    item = dynamodb.get_item(TableName=f"{stage}-billing-ledger", Key={"event_id": {"S": event_id}}).get(
        "Item"
    )
    return item is not None and item["routed_to"]["L"] == [{"S": "xendit"}]


class Output:
    """What ``billing dev`` prints, read as it comes; each ``until`` goes on after the last match."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        self.process = process
        self.text = ""
        self.position = 0

    def until(self, marker: str, timeout: float) -> str:
        """The output from the last match to the end of the line that says ``marker``."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            found = self.text.find(marker, self.position)
            if found >= 0:
                end = self.text.find("\n", found)
                end = len(self.text) if end < 0 else end
                said, self.position = self.text[self.position : end], end
                return said
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"billing dev did not say {marker!r}:\n{self.text}")
            self.text += (self.process.stdout.read() or b"").decode(errors="replace")
            time.sleep(0.2)


def _port_taken(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
