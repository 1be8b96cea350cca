"""An async client for ChartMogul's Import API v1 (``/v1/...``, HTTP Basic with the API key).

Errors follow ``lovia_billing.clients._http``: 429 → ``RateLimited``, 5xx (503 = too many parallel
connections) → ``DownstreamUnavailable``, other 4xx → ``ChartMogulRejected``/``AlreadyExists``
(permanent). ChartMogul sends no ``Retry-After`` with its 429; its limit is per second, so a 429
without one asks for ``RATE_WINDOW_SECONDS``.

A short burst of 429/5xx is retried here (capped backoff with jitter), as ChartMogul's own clients do,
so one busy second does not cost a queue receive. Timeouts are not retried here: the write may have
happened, and the handler's natural keys decide that on the next delivery.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

import httpx
from pydantic import SecretStr

from lovia_billing._errors import DownstreamUnavailable, PermanentError, RateLimited
from lovia_billing.clients._http import DEFAULT_TIMEOUT, HttpClient, json_or_text, raise_for_status, send
from lovia_billing.clients.chartmogul._errors import (
    AlreadyExists,
    ChartMogulRejected,
    field_errors,
    is_already_exists,
)
from lovia_billing.clients.chartmogul._models import (
    Customer,
    CustomerUpdate,
    DataSource,
    Invoice,
    NewCustomer,
    NewInvoice,
    NewPlan,
    NewTransaction,
    Plan,
    Subscription,
    Transaction,
    utc_text,
)

SYSTEM = "chartmogul"
PRODUCTION_URL = "https://api.chartmogul.com"
#: ChartMogul allows 40 requests per second: a 429 clears within a second.
RATE_WINDOW_SECONDS = 1.0
#: ChartMogul refuses more than 20 parallel connections; stay well below.
MAX_CONNECTIONS = 10

_Query = Mapping[str, str]


def _message(body: Any) -> str:
    """ChartMogul's own words from any of its error shapes (never our request, which holds no secret)."""
    if isinstance(body, dict):
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
        errors = field_errors(body)
        if errors:
            return "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
    return str(body)[:300]


class ChartMogulClient(HttpClient):
    """One account's Import API. Use as ``async with ChartMogulClient(...) as client``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 2,
        backoff: float = 0.5,
        max_delay: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        root = base_url.rstrip("/").removesuffix("/v1")  # accept the base with or without /v1
        self._retries = retries
        self._backoff = backoff
        self._max_delay = max_delay
        self._http = httpx.AsyncClient(
            base_url=f"{root}/v1",
            auth=httpx.BasicAuth(key, ""),  # the API key is the user name, the password stays empty
            timeout=timeout,
            headers={"User-Agent": "lovia-billing-chartmogul/0.1", "Accept": "application/json"},
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
            transport=transport,
        )

    # --- transport --------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, object] | None = None,
        params: _Query | None = None,
        resource: str = "",
        external_id: str = "",
    ) -> Any:
        attempt = 0
        while True:
            request = self._http.build_request(method, path, json=json, params=params)
            try:
                response = await send(self._http, request, system=SYSTEM)
                if response.status_code < 400:
                    return response.json() if response.content else None
                self._raise(response, resource=resource, external_id=external_id)
            except (RateLimited, DownstreamUnavailable) as exc:
                delay = self._delay(exc, attempt)
                if attempt >= self._retries or delay is None:
                    raise
                attempt += 1
                await asyncio.sleep(delay)

    def _delay(self, exc: RateLimited | DownstreamUnavailable, attempt: int) -> float | None:
        """How long to wait before retrying here, or None to leave the wait to the consumer runtime."""
        if exc.retry_after is not None:
            return exc.retry_after if exc.retry_after <= self._max_delay else None
        return min(self._max_delay, self._backoff * 2.0**attempt) * random.uniform(0.5, 1.5)

    @staticmethod
    def _raise(response: httpx.Response, *, resource: str, external_id: str) -> NoReturn:
        body = json_or_text(response)
        try:
            raise_for_status(response, _message(body), system=SYSTEM)
        except RateLimited as exc:
            if exc.retry_after is None:
                exc.retry_after = RATE_WINDOW_SECONDS
            raise
        except PermanentError as exc:
            errors = field_errors(body)
            if response.status_code == 422 and external_id and is_already_exists(errors):
                raise AlreadyExists(
                    str(exc), resource=resource, external_id=external_id, errors=errors
                ) from None
            raise ChartMogulRejected(str(exc), status=response.status_code, errors=errors) from None
        raise AssertionError(f"raise_for_status let {response.status_code} through")  # pragma: no cover

    async def _all(self, path: str, key: str, params: _Query | None = None) -> list[Any]:
        """Every item of a cursor-paged list."""
        items: list[Any] = []
        query = dict(params or {})
        while True:
            body = await self._call("GET", path, params=query)
            items += body.get(key) or []
            cursor = body.get("cursor")
            if not body.get("has_more") or not cursor:
                return items
            query["cursor"] = str(cursor)

    # --- account ----------------------------------------------------------------------------

    async def ping(self) -> bool:
        body = await self._call("GET", "/ping")
        return isinstance(body, dict) and body.get("data") == "pong!"

    async def list_data_sources(self, *, name: str | None = None) -> list[DataSource]:
        body = await self._call("GET", "/data_sources", params={"name": name} if name else None)
        return [DataSource.model_validate(ds) for ds in body.get("data_sources") or []]

    async def create_data_source(self, name: str) -> DataSource:
        return DataSource.model_validate(await self._call("POST", "/data_sources", json={"name": name}))

    # --- customers --------------------------------------------------------------------------

    async def find_customer(self, data_source_uuid: str, external_id: str) -> Customer | None:
        """The customer with our ``external_id`` in that data source (several sources may share it)."""
        query = {"data_source_uuid": data_source_uuid, "external_id": external_id}
        entries = await self._all("/customers", "entries", query)
        matches = [Customer.model_validate(e) for e in entries]
        return next((c for c in matches if c.external_id == external_id), None)

    async def create_customer(self, customer: NewCustomer) -> Customer:
        payload, ext = customer.payload(), customer.external_id
        body = await self._call("POST", "/customers", json=payload, resource="customer", external_id=ext)
        return Customer.model_validate(body)

    async def update_customer(self, customer_uuid: str, update: CustomerUpdate) -> Customer:
        body = await self._call("PATCH", f"/customers/{customer_uuid}", json=update.payload())
        return Customer.model_validate(body)

    # --- plans ------------------------------------------------------------------------------

    async def find_plan(self, data_source_uuid: str, external_id: str) -> Plan | None:
        query = {"data_source_uuid": data_source_uuid, "external_id": external_id}
        plans = [Plan.model_validate(p) for p in await self._all("/plans", "plans", query)]
        return next((p for p in plans if p.external_id == external_id), None)

    async def create_plan(self, plan: NewPlan) -> Plan:
        payload = plan.payload()
        body = await self._call("POST", "/plans", json=payload, resource="plan", external_id=plan.external_id)
        return Plan.model_validate(body)

    # --- invoices and transactions ----------------------------------------------------------

    async def import_invoice(self, customer_uuid: str, invoice: NewInvoice) -> Invoice:
        """Import one invoice (one per request: how ChartMogul treats the rest of a failed batch is
        undocumented). A retry of a stored invoice raises ``AlreadyExists``."""
        body = await self._call(
            "POST",
            f"/import/customers/{customer_uuid}/invoices",
            json={"invoices": [invoice.payload()]},
            resource="invoice",
            external_id=invoice.external_id,
        )
        return Invoice.model_validate(body["invoices"][0])

    async def find_invoice(self, data_source_uuid: str, external_id: str) -> Invoice | None:
        query = {"data_source_uuid": data_source_uuid, "external_id": external_id}
        invoices = [Invoice.model_validate(i) for i in await self._all("/invoices", "invoices", query)]
        return next((i for i in invoices if i.external_id == external_id), None)

    async def list_customer_invoices(self, customer_uuid: str) -> list[Invoice]:
        items = await self._all(f"/import/customers/{customer_uuid}/invoices", "invoices")
        return [Invoice.model_validate(i) for i in items]

    async def add_transaction(self, invoice_uuid: str, transaction: NewTransaction) -> Transaction:
        body = await self._call(
            "POST",
            f"/import/invoices/{invoice_uuid}/transactions",
            json=transaction.payload(),
            resource="transaction",
            external_id=transaction.external_id or "",
        )
        return Transaction.model_validate(body)

    # --- subscriptions ----------------------------------------------------------------------

    async def list_subscriptions(self, customer_uuid: str) -> list[Subscription]:
        items = await self._all(f"/import/customers/{customer_uuid}/subscriptions", "subscriptions")
        return [Subscription.model_validate(s) for s in items]

    async def set_cancellation_dates(self, subscription_uuid: str, dates: Sequence[datetime]) -> Subscription:
        """Replace the subscription's whole cancellation history (``[]`` clears it): idempotent."""
        payload = {"cancellation_dates": [utc_text(d) for d in dates]}
        return Subscription.model_validate(
            await self._call("PATCH", f"/import/subscriptions/{subscription_uuid}", json=payload)
        )
