"""AWS requests per flow, from the stand-in's request log, against the floor we derive; their cost.

The stand-in counts every request by service, operation and calling process (``AWS_SDK_UA_APP_ID``,
set per component by the benchmark). A flow's figures are the difference between two snapshots
taken when the system is quiet, divided by the number of flows; long polls that returned nothing
(idle consumers) and the benchmark's own calls are left out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

#: List prices used for the cost per million events (ap-southeast-1, USD). No network here: these
#: are the prices as known on 2026-11-30 and must be checked against aws.amazon.com/sqs/pricing and
#: aws.amazon.com/dynamodb/pricing/on-demand before they are quoted.
SQS_FIFO_PER_MILLION_REQUESTS = 0.50
DYNAMODB_PER_MILLION_WRITE_UNITS = 0.7125
DYNAMODB_PER_MILLION_READ_UNITS = 0.1425
#: What one SQS receive or delete batch carries at best; the floor assumes full batches.
SQS_BATCH = 10
OWN = "-"  # requests without an app id: the benchmark's own look-ups

Snapshot = dict[str, Any]


def snapshot(stand_in_url: str) -> Snapshot:
    response = httpx.get(stand_in_url + "/_sandbox/requests", timeout=10)
    response.raise_for_status()
    result: Snapshot = response.json()
    return result


def _activity(snap: Snapshot) -> float:
    """Requests of the system's processes, idle long polls excluded."""
    total = 0.0
    for app, kinds in snap["apps"].items():
        if app == OWN:
            continue
        total += sum(kinds["requests"].values()) - kinds["sqs"].get("ReceiveMessage.empty", 0)
    return total


def wait_quiet(stand_in_url: str, *, quiet_seconds: float = 2.0, within: float = 120.0) -> Snapshot:
    """The snapshot once no process has made a (non-idle) request for ``quiet_seconds``."""
    deadline = time.monotonic() + within
    last = snapshot(stand_in_url)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = snapshot(stand_in_url)
        if _activity(now) != _activity(last):
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return now
        last = now
    raise TimeoutError(f"the system did not go quiet within {within} s")


@dataclass
class Usage:
    """One stretch of time, per flow: requests by ``Service.Operation``, by app, and DynamoDB units."""

    flows: int
    requests: dict[str, float] = field(default_factory=dict)
    by_app: dict[str, dict[str, float]] = field(default_factory=dict)
    write_units: float = 0.0
    read_units: float = 0.0
    units: dict[str, float] = field(default_factory=dict)  # by kind and table, e.g. write.<table>
    messages_received: float = 0.0
    received_by_app: dict[str, float] = field(default_factory=dict)
    idle_receives: float = 0.0

    @classmethod
    def between(cls, before: Snapshot, after: Snapshot, flows: int) -> Usage:
        usage = cls(flows)
        for app, kinds in after["apps"].items():
            if app == OWN:
                continue
            old = before["apps"].get(app, {"requests": {}, "sqs": {}, "units": {}})
            idle = kinds["sqs"].get("ReceiveMessage.empty", 0) - old["sqs"].get("ReceiveMessage.empty", 0)
            usage.idle_receives += idle / flows
            received = kinds["sqs"].get("ReceiveMessage.messages", 0) - old["sqs"].get(
                "ReceiveMessage.messages", 0
            )
            usage.messages_received += received / flows
            usage.received_by_app[app] = received / flows
            mine: dict[str, float] = {}
            for name, value in kinds["requests"].items():
                delta = value - old["requests"].get(name, 0) - (idle if name == "SQS.ReceiveMessage" else 0)
                if delta:
                    mine[name] = delta / flows
                    usage.requests[name] = usage.requests.get(name, 0) + delta / flows
            if mine:
                usage.by_app[app] = mine
            for name, value in kinds["units"].items():
                delta = (value - old["units"].get(name, 0)) / flows
                usage.units[name] = usage.units.get(name, 0) + delta
                if name.startswith("write."):
                    usage.write_units += delta
                else:
                    usage.read_units += delta
        return usage

    def app(self, name: str) -> Usage:
        """Only what one process asked."""
        return Usage(
            self.flows, requests=dict(self.by_app.get(name, {})), by_app={name: self.by_app.get(name, {})}
        )

    @property
    def total(self) -> float:
        return sum(self.requests.values())

    @property
    def sqs_requests(self) -> float:
        return sum(v for k, v in self.requests.items() if k.startswith("SQS."))

    @property
    def per_receive(self) -> float:
        receives = self.requests.get("SQS.ReceiveMessage", 0)
        return self.messages_received / receives if receives else 0.0

    def cost_per_million(self, events_per_flow: float) -> float:
        """USD per million domain events at the list prices above (requests and units of this usage)."""
        flows = 1_000_000 / events_per_flow
        return (
            flows
            * (
                self.sqs_requests * SQS_FIFO_PER_MILLION_REQUESTS
                + self.write_units * DYNAMODB_PER_MILLION_WRITE_UNITS
                + self.read_units * DYNAMODB_PER_MILLION_READ_UNITS
            )
            / 1_000_000
        )


@dataclass(frozen=True)
class Floor:
    """The fewest requests a flow can make and keep its guarantees (``docs``: bench/README.md).

    * one ``SendMessageBatch`` per routed queue of each event published;
    * per message consumed: one conditional write to claim it and one to record it done (the ledger
      status rides on these two), and its share of a full receive and a full delete batch;
    * the contract's writes: the ledger entry before the send and its sent marker after (so the
      ledger never says queued for what is not), the customer look-up of an invoice callback, the
      ``Idempotency-Key`` reservation and its answer;
    * what a handler itself stores (mautic_sync's facts), counted as measured, not floored.
    """

    sends: int
    messages: int
    contract: int
    handler: float = 0.0

    @property
    def exactly_once(self) -> float:
        return self.sends + self.messages * (2 + 2 / SQS_BATCH)

    @property
    def total(self) -> float:
        return self.exactly_once + self.contract + self.handler


def row(name: str, usage: Usage, floor: Floor | None, columns: Mapping[str, str]) -> str:
    cells = [f"{usage.requests.get(op, 0):>{len(label)}.1f}" for label, op in columns.items()]
    floor_cell = f"{floor.total:6.1f}" if floor is not None else "     -"
    return f"{name:<28} {' '.join(cells)} {usage.total:6.1f} {floor_cell}"


COLUMNS = {
    "send": "SQS.SendMessageBatch",
    "send1": "SQS.SendMessage",
    "recv": "SQS.ReceiveMessage",
    "delete": "SQS.DeleteMessageBatch",
    "vis": "SQS.ChangeMessageVisibility",
    "d.get": "DynamoDB.GetItem",
    "d.put": "DynamoDB.PutItem",
    "d.upd": "DynamoDB.UpdateItem",
    "d.del": "DynamoDB.DeleteItem",
    "d.query": "DynamoDB.Query",
}


def header() -> str:
    return f"{'flow (per flow)':<28} {' '.join(COLUMNS)}  total  floor"
