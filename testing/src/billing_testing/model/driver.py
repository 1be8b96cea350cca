"""The model's hands: HTTP calls to the running stack (ingest, sandboxes) and the ``billing`` CLI."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx

from billing_cli.local_stack import LOCAL_API_KEY, LOCAL_CALLBACK_TOKEN, LOCAL_XENDIT_KEY
from billing_testing.e2e import Queues
from billing_testing.stack import SANDBOXES, Stack, billing_cli
from lovia_billing import Integration

API = {"Authorization": f"Bearer {LOCAL_API_KEY}"}
CALLBACK = {"x-callback-token": LOCAL_CALLBACK_TOKEN}


class Driver:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.Client(timeout=30.0)
        self.queues = Queues(stack)

    def close(self) -> None:
        self.http.close()

    # --- the ingest --------------------------------------------------------------------------------

    def ingest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, self.stack.url("ingest") + path, **kwargs)

    def put_customer(self, customer_id: str, email: str, key: str | None) -> httpx.Response:
        headers = {**API, **({"Idempotency-Key": key} if key else {})}
        body = {"email": email, "name": f"Budi {customer_id}", "company": f"PT {customer_id}"}
        return self.ingest("PUT", f"/v1/customers/{customer_id}", headers=headers, json=body)

    def post_invoices(self, bodies: list[dict[str, Any]], key: str | None = None) -> list[httpx.Response]:
        """All at once, from threads: the way racing backends call us."""
        headers = {**API, **({"Idempotency-Key": key} if key else {})}
        if len(bodies) == 1:
            return [self.ingest("POST", "/v1/invoices", headers=headers, json=bodies[0])]
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(
                pool.map(lambda b: self.ingest("POST", "/v1/invoices", headers=headers, json=b), bodies)
            )

    def cancel(self, customer_id: str, subscription_id: str, at: datetime) -> httpx.Response:
        body = {"customer_id": customer_id, "cancelled_at": at.isoformat(), "reason": "model"}
        return self.ingest("POST", f"/v1/subscriptions/{subscription_id}/cancel", headers=API, json=body)

    def callback(self, route: str, body: dict[str, Any]) -> httpx.Response:
        return self.ingest("POST", f"/webhooks/xendit/{route}", headers=CALLBACK, json=body)

    # --- the Xendit sandbox ------------------------------------------------------------------------

    def xendit(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, self.stack.url("xendit-sandbox") + path, **kwargs)

    def xendit_api(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Xendit's own API (Basic auth with the secret key), as Lovia's backends call it: retried
        a few times on 5xx and 429 (the model injects those faults too)."""
        for _ in range(8):
            response = self.xendit(method, path, json=body, auth=(LOCAL_XENDIT_KEY, ""))
            if response.status_code < 500 and response.status_code != 429:
                break
            time.sleep(0.3)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def sent_callbacks(self, route: str) -> list[dict[str, Any]]:
        """Every callback the Xendit sandbox sent to ``/<route>``."""
        response = self.xendit("GET", "/_sandbox/callbacks")
        response.raise_for_status()
        return [c for c in response.json() if str(c.get("url", "")).endswith("/" + route)]

    def xendit_invoice(self, external_id: str, within: float = 30.0) -> dict[str, Any] | None:
        """Xendit's invoice for our id, once xendit_sync has created it (None if it never does)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = [i for i in self.state("xendit-sandbox")["invoices"] if i["external_id"] == external_id]
            if found:
                return dict(found[0])
            time.sleep(0.2)
        return None

    def callbacks_of(self, xendit_id: str) -> list[dict[str, Any]]:
        response = self.xendit("GET", "/_sandbox/callbacks", params={"invoice_id": xendit_id})
        response.raise_for_status()
        return list(response.json())

    # --- every sandbox ------------------------------------------------------------------------------

    def state(self, sandbox: str) -> dict[str, Any]:
        response = self.http.get(self.stack.url(sandbox) + "/_sandbox/state")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        for name in SANDBOXES:
            self.http.delete(self.stack.url(name) + "/_sandbox/faults").raise_for_status()
            self.http.post(self.stack.url(name) + "/_sandbox/reset").raise_for_status()
        self.xendit("POST", "/_sandbox/config", json={"duplicates": 0, "shuffle": False}).raise_for_status()

    def fault(self, sandbox: str, rule: dict[str, Any]) -> None:
        self.http.post(self.stack.url(sandbox) + "/_sandbox/faults", json=rule).raise_for_status()

    def clear_faults(self) -> None:
        for name in SANDBOXES:
            self.http.delete(self.stack.url(name) + "/_sandbox/faults").raise_for_status()

    # --- operators ------------------------------------------------------------------------------------

    def dead_reasons(self) -> dict[str, str]:
        """Each dead event id with its integration and last error (for a failure message)."""
        reasons: dict[str, str] = {}
        counts = self.queues.counts()
        for integration in Integration:
            if counts[f"{integration.value}-dlq"]:
                done = billing_cli(self.stack, "dlq", "show", integration.value, "--json")
                for message in json.loads(done.stdout or "[]"):
                    reasons[str(message["event_id"])] = (
                        f"{integration.value} {message.get('event_type')}: {message.get('last_error')}"
                    )
        return reasons

    def dead_events(self) -> dict[str, set[str]]:
        """Event ids in each DLQ, as ``billing dlq show`` lists them (only non-empty DLQs are shown)."""
        dead: dict[str, set[str]] = {}
        counts = self.queues.counts()
        for integration in Integration:
            if not counts[f"{integration.value}-dlq"]:
                dead[integration.value] = set()
                continue
            done = billing_cli(self.stack, "dlq", "show", integration.value, "--json")
            assert done.returncode == 0, done.stderr
            dead[integration.value] = {str(m["event_id"]) for m in json.loads(done.stdout)}
        return dead

    def redrive(self, integration: str, event_ids: set[str]) -> None:
        args = [a for event_id in sorted(event_ids) for a in ("--event-id", event_id)]
        done = billing_cli(self.stack, "dlq", "redrive", integration, *args, "--json")
        assert done.returncode == 0, done.stderr

    def settle(self, within: float) -> dict[str, int]:
        """Wait until no source queue holds anything (visible, in flight or waiting); what is left."""
        deadline = time.monotonic() + within
        busy = self.queues.busy()
        while time.monotonic() < deadline:
            busy = {k: v for k, v in self.queues.busy().items() if not k.endswith("-dlq")}
            if not busy:
                time.sleep(1.0)  # a callback retry or follow-up may still be on its way
                busy = {k: v for k, v in self.queues.busy().items() if not k.endswith("-dlq")}
                if not busy:
                    return {}
            time.sleep(0.5)
        return busy


def new_key() -> str:
    return uuid.uuid4().hex
