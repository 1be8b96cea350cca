"""An async client for Xendit's invoice API (ref §2) and the reads that confirm its other products.

Errors are mapped by ``clients._http``:

* 429 → ``RateLimited`` waiting ``Rate-Limit-Reset`` (seconds left in the window, decimal: the only
  header Xendit documents), or ``Retry-After`` should Xendit ever send one; 5xx and transport
  failures → retryable; other 4xx → ``PermanentError``.
* ``get_invoice`` answers ``None`` for 404, so "not found" is not an exception.
* Xendit does not deduplicate invoices (ref §4): callers look up by ``external_id`` before creating.
* With a ``RateLimitPacer`` the client waits as Xendit's ``Rate-Limit-*`` headers ask, per endpoint,
  and retries a 429 itself (bulk readers); without one a 429 is raised for the caller's runtime.
* ``iter_invoices``, ``iter_refunds`` and ``iter_payment_requests`` read Xendit's lists page by page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, TypeAdapter, ValidationError

from lovia_billing._errors import DownstreamUnavailable, RateLimited
from lovia_billing.clients._http import DEFAULT_TIMEOUT, HttpClient, raise_for_status, send
from lovia_billing.clients._wait import RETRY_AFTER, WaitHeader, WaitUnit
from lovia_billing.clients.xendit import _json
from lovia_billing.clients.xendit._models import CreateInvoiceRequest, Invoice, InvoiceStatus
from lovia_billing.clients.xendit._pacing import RateLimitPacer
from lovia_billing.clients.xendit._products import (
    CaptureList,
    EwalletCharge,
    FvaPayment,
    PaymentRequest,
    RecurringCycle,
    Refund,
)

SYSTEM = "xendit"
#: Xendit's rate-limit header: seconds left in the window, decimal (ref/xendit.md, "Rate limits").
RATE_LIMIT_RESET = WaitHeader("Rate-Limit-Reset", WaitUnit.SECONDS_LEFT)
T = TypeVar("T")
_INVOICE = TypeAdapter(Invoice)
_INVOICES = TypeAdapter(list[Invoice])
_PAYMENT_REQUEST = TypeAdapter(PaymentRequest)
_CAPTURES = TypeAdapter(CaptureList)
_CYCLE = TypeAdapter(RecurringCycle)
_FVA_PAYMENT = TypeAdapter(FvaPayment)
_EWALLET_CHARGE = TypeAdapter(EwalletCharge)
_REFUND = TypeAdapter(Refund)
_REFUNDS = TypeAdapter(list[Refund])
_PAYMENT_REQUESTS = TypeAdapter(list[PaymentRequest])
Query = list[tuple[str, str | int | float | bool | None]]


def xendit_time(moment: datetime) -> str:
    """Xendit's timestamp format: UTC, milliseconds, ``Z`` (``2026-11-25T00:00:00.000Z``)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _error_message(response: httpx.Response) -> str:
    try:
        body = _json.loads(response.content)
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "error_code" in body:
        return f"{body['error_code']}: {body.get('message', '')}"
    return response.text[:200]


def _validate(adapter: TypeAdapter[T], data: Any) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        count = exc.error_count()
        raise DownstreamUnavailable(f"{SYSTEM}: unexpected response shape ({count} errors)") from exc


class XenditClient(HttpClient):
    """Xendit's invoice API with Basic auth (the secret key as username, empty password).

    Use as ``async with XenditClient(url, key) as xendit: ...`` or close with ``aclose()``.
    """

    def __init__(
        self,
        base_url: str,
        secret_key: SecretStr | str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        pacer: RateLimitPacer | None = None,
    ) -> None:
        key = secret_key.get_secret_value() if isinstance(secret_key, SecretStr) else secret_key
        self.pacer = pacer
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(key, ""),
            timeout=timeout,
            transport=transport,
            headers={"accept": "application/json", "user-agent": "lovia-billing/xendit"},
        )

    async def create_invoice(self, request: CreateInvoiceRequest) -> Invoice:
        """``POST /v2/invoices``. Not idempotent at Xendit: look up ``external_id`` first."""
        body = _json.dumps(request.model_dump(exclude_none=True))
        data = await self._call("POST", "/v2/invoices", content=body)
        return _validate(_INVOICE, data)

    async def get_invoice(self, invoice_id: str) -> Invoice | None:
        """``GET /v2/invoices/{id}``; ``None`` when Xendit has no such invoice."""
        path = f"/v2/invoices/{quote(invoice_id, safe='')}"
        data = await self._call("GET", path, not_found_ok=True, endpoint="/v2/invoices/{invoice_id}")
        return None if data is None else _validate(_INVOICE, data)

    async def find_invoices(
        self,
        *,
        external_id: str | None = None,
        statuses: Sequence[InvoiceStatus] = (),
        page_size: int = 100,
        max_pages: int = 50,
    ) -> list[Invoice]:
        """``GET /v2/invoices`` filtered by ``external_id`` and ``statuses``, every page, newest first."""
        found: list[Invoice] = []
        last: str | None = None
        for _ in range(max_pages):
            params: list[tuple[str, str | int | float | bool | None]] = [("limit", page_size)]
            params += [("statuses", status) for status in statuses]
            if external_id is not None:
                params.append(("external_id", external_id))
            if last is not None:
                params.append(("last_invoice", last))
            data = await self._call("GET", "/v2/invoices", params=httpx.QueryParams(params))
            page = _validate(_INVOICES, data)
            found.extend(page)
            if len(page) < page_size:
                return found
            last = page[-1].id
        return found

    async def iter_invoices(
        self,
        *,
        statuses: Sequence[InvoiceStatus] = (),
        created: tuple[datetime | None, datetime | None] = (None, None),
        paid: tuple[datetime | None, datetime | None] = (None, None),
        expired: tuple[datetime | None, datetime | None] = (None, None),
        page_size: int = 100,
    ) -> AsyncIterator[list[Invoice]]:
        """``GET /v2/invoices`` page by page (newest first), filtered by status and by time:
        ``paid=(after, before)`` is ``paid_after``/``paid_before``, likewise ``created``, ``expired``."""
        base: Query = [("limit", page_size)]
        base += [("statuses", status) for status in statuses]
        for prefix, (after, before) in (("created", created), ("paid", paid), ("expired", expired)):
            if after is not None:
                base.append((f"{prefix}_after", xendit_time(after)))
            if before is not None:
                base.append((f"{prefix}_before", xendit_time(before)))
        last: str | None = None
        while True:
            params = base + ([("last_invoice", last)] if last is not None else [])
            data = await self._call("GET", "/v2/invoices", params=httpx.QueryParams(params))
            page = _validate(_INVOICES, data)
            if page:
                yield page
            if len(page) < page_size:
                return
            last = page[-1].id

    async def iter_refunds(
        self, *, invoice_id: str | None = None, payment_request_id: str | None = None, page_size: int = 100
    ) -> AsyncIterator[list[Refund]]:
        """``GET /refunds`` page by page (``after_id``), newest first; Xendit has no time filter here."""
        base: Query = [("limit", page_size)]
        if invoice_id is not None:
            base.append(("invoice_id", invoice_id))
        if payment_request_id is not None:
            base.append(("payment_request_id", payment_request_id))
        async for page in self._pages("/refunds", base):
            yield _validate(_REFUNDS, page)

    async def iter_payment_requests(self, *, page_size: int = 100) -> AsyncIterator[list[PaymentRequest]]:
        """``GET /payment_requests`` page by page (``after_id``), newest first; no time filter either."""
        async for page in self._pages("/payment_requests", [("limit", page_size)]):
            yield _validate(_PAYMENT_REQUESTS, page)

    async def _pages(self, path: str, base: Query) -> AsyncIterator[list[Any]]:
        """The ``{data, has_more}`` lists of the newer APIs, followed with ``after_id``."""
        after: str | None = None
        while True:
            params = base + ([("after_id", after)] if after is not None else [])
            body = await self._call("GET", path, params=httpx.QueryParams(params))
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise DownstreamUnavailable(f"{SYSTEM} GET {path}: a list without data")
            if data:
                yield data
            if not body.get("has_more") or not data:
                return
            after = str(data[-1]["id"])

    async def expire_invoice(self, invoice_id: str) -> Invoice:
        """``POST /invoices/{id}/expire!`` (no ``/v2``); the invoice afterwards."""
        data = await self._call("POST", f"/invoices/{quote(invoice_id, safe='')}/expire!")
        return _validate(_INVOICE, data)

    # --- other products: reads only, to confirm what a callback claims (None when unknown) --------

    async def get_payment_request(self, payment_request_id: str) -> PaymentRequest | None:
        """``GET /payment_requests/{id}`` (Payments API v2)."""
        path = f"/payment_requests/{_segment(payment_request_id)}"
        data = await self._call("GET", path, not_found_ok=True, endpoint="/payment_requests/{id}")
        return None if data is None else _validate(_PAYMENT_REQUEST, data)

    async def list_captures(self, payment_request_id: str) -> CaptureList | None:
        """``GET /payment_requests/{id}/captures``: the payments made against a payment request."""
        path = f"/payment_requests/{_segment(payment_request_id)}/captures"
        data = await self._call("GET", path, not_found_ok=True, endpoint="/payment_requests/{id}/captures")
        return None if data is None else _validate(_CAPTURES, data)

    async def get_recurring_cycle(self, plan_id: str, cycle_id: str) -> RecurringCycle | None:
        """``GET /recurring/plans/{plan_id}/cycles/{cycle_id}``."""
        path = f"/recurring/plans/{_segment(plan_id)}/cycles/{_segment(cycle_id)}"
        endpoint = "/recurring/plans/{plan_id}/cycles/{cycle_id}"
        data = await self._call("GET", path, not_found_ok=True, endpoint=endpoint)
        return None if data is None else _validate(_CYCLE, data)

    async def get_fva_payment(self, payment_id: str) -> FvaPayment | None:
        """``GET /callback_virtual_account_payments/payment_id={payment_id}`` (the ``=`` is Xendit's)."""
        path = f"/callback_virtual_account_payments/payment_id={_segment(payment_id)}"
        endpoint = "/callback_virtual_account_payments/payment_id={payment_id}"
        data = await self._call("GET", path, not_found_ok=True, endpoint=endpoint)
        return None if data is None else _validate(_FVA_PAYMENT, data)

    async def get_ewallet_charge(self, charge_id: str) -> EwalletCharge | None:
        """``GET /ewallets/charges/{id}``."""
        path = f"/ewallets/charges/{_segment(charge_id)}"
        data = await self._call("GET", path, not_found_ok=True, endpoint="/ewallets/charges/{id}")
        return None if data is None else _validate(_EWALLET_CHARGE, data)

    async def get_refund(self, refund_id: str) -> Refund | None:
        """``GET /refunds/{id}``."""
        path = f"/refunds/{_segment(refund_id)}"
        data = await self._call("GET", path, not_found_ok=True, endpoint="/refunds/{id}")
        return None if data is None else _validate(_REFUND, data)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        content: str | None = None,
        params: httpx.QueryParams | None = None,
        not_found_ok: bool = False,
        endpoint: str | None = None,
    ) -> Any:
        """One request; ``endpoint``: the route template Xendit counts the rate limit by (default
        ``path``, for routes without ids)."""
        headers = {"content-type": "application/json"} if content is not None else None
        request = self._http.build_request(method, path, content=content, params=params, headers=headers)
        response = await self._send_paced(request, f"{method} {endpoint or path}")
        if response.status_code == 404 and not_found_ok:
            return None
        raise_for_status(
            response, _error_message(response), system=SYSTEM, wait_headers=(RETRY_AFTER, RATE_LIMIT_RESET)
        )
        try:
            return _json.loads(response.content)
        except ValueError as exc:
            raise DownstreamUnavailable(
                f"{SYSTEM} {method} {path}: answered {response.status_code} with no JSON"
            ) from exc

    async def _send_paced(self, request: httpx.Request, endpoint: str) -> httpx.Response:
        """Send once; with a pacer, wait for budget first and try a 429 again after its reset."""
        if self.pacer is None:
            return await send(self._http, request, system=SYSTEM)
        for _ in range(self.pacer.max_retries):
            await self.pacer.before(endpoint)
            response = await send(self._http, request, system=SYSTEM)
            self.pacer.after(endpoint, response)
            if response.status_code != 429:
                return response
        raise RateLimited(
            f"{SYSTEM} {endpoint}: still 429 after {self.pacer.max_retries} waits for Rate-Limit-Reset",
            retry_after=None,
        )
