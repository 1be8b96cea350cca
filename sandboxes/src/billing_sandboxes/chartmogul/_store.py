"""The sandbox's in-memory account: data sources, customers, plans, invoices, subscriptions.

Every operation takes and returns JSON-shaped data, applies ChartMogul's uniqueness rules (``external_id``
within a data source; duplicates are 422, never 409) and raises ``ApiError`` with ChartMogul's own body.
No I/O: the HTTP layer in ``_app`` only parses requests and writes responses.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from billing_sandboxes.chartmogul import _bodies as b

INTERVAL_UNITS = ("day", "month", "year")
LINE_TYPES = ("subscription", "one_time", "trial")


class ApiError(Exception):
    """An error answer: ``status`` and ChartMogul's body for it."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4()}"


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    # JSON booleans are ints in Python; ChartMogul refuses them like any other non-number.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Subscription:
    uuid: str
    external_id: str
    customer_uuid: str
    data_source_uuid: str
    plan_uuid: str
    subscription_set_external_id: str | None = None
    cancellation_dates: list[datetime] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "uuid": self.uuid,
            "external_id": self.external_id,
            "customer_uuid": self.customer_uuid,
            "plan_uuid": self.plan_uuid,
            "data_source_uuid": self.data_source_uuid,
            "cancellation_dates": [b.timestamp(d) for d in sorted(self.cancellation_dates)],
        }
        if self.subscription_set_external_id:
            body["subscription_set_external_id"] = self.subscription_set_external_id
        return body


@dataclass
class Invoice:
    uuid: str
    customer_uuid: str
    data_source_uuid: str
    external_id: str
    date: datetime
    due_date: datetime | None
    currency: str
    line_items: list[dict[str, Any]]
    transactions: list[dict[str, Any]]

    def to_json(self, *, with_owner: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "uuid": self.uuid,
            "external_id": self.external_id,
            "date": b.timestamp(self.date),
            "due_date": b.timestamp(self.due_date),
            "currency": self.currency,
            "line_items": [dict(item) for item in self.line_items],
            "transactions": [dict(txn) for txn in self.transactions],
        }
        if with_owner:
            body = {"customer_uuid": self.customer_uuid, "data_source_uuid": self.data_source_uuid, **body}
        return body


class Store:
    """One ChartMogul account. The ASGI app is single-threaded, so no operation interleaves."""

    def __init__(self, data_source_uuid: str, data_source_name: str) -> None:
        self._seed = (data_source_uuid, data_source_name)
        self.reset()

    def reset(self) -> None:
        self.data_sources: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, Invoice] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self._customer_ids = itertools.count(1)
        self._line_item_ids: set[tuple[str, str]] = set()
        self._transaction_ids: set[tuple[str, str]] = set()
        ds_uuid, ds_name = self._seed
        self._add_data_source(ds_uuid, ds_name)

    def state(self) -> dict[str, Any]:
        return {
            "data_sources": list(self.data_sources.values()),
            "customers": [self._customer_json(c) for c in self.customers.values()],
            "plans": list(self.plans.values()),
            "invoices": [i.to_json(with_owner=True) for i in self.invoices.values()],
            "subscriptions": [s.to_json() for s in self.subscriptions.values()],
        }

    # --- data sources -------------------------------------------------------------------------

    def _add_data_source(self, ds_uuid: str, name: str) -> dict[str, Any]:
        record = {
            "uuid": ds_uuid,
            "name": name,
            "system": "Import API",
            "created_at": b.timestamp(datetime.now(UTC)),
            "status": "idle",
        }
        self.data_sources[ds_uuid] = record
        return record

    def create_data_source(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _text(body.get("name"))
        if name is None:
            raise ApiError(400, b.missing_parameter("name"))
        if any(ds["name"] == name for ds in self.data_sources.values()):
            raise ApiError(422, b.invalid({"name": b.NAME_TAKEN}))
        return dict(self._add_data_source(_new_id("ds"), name))

    def list_data_sources(self, name: str | None, system: str | None) -> list[dict[str, Any]]:
        return [
            dict(ds)
            for ds in self.data_sources.values()
            if (name is None or ds["name"] == name) and (system is None or ds["system"] == system)
        ]

    def data_source(self, ds_uuid: str) -> dict[str, Any]:
        if ds_uuid not in self.data_sources:
            raise ApiError(404, b.not_found("Data source"))
        return dict(self.data_sources[ds_uuid])

    # --- customers ----------------------------------------------------------------------------

    _CUSTOMER_FIELDS = ("name", "email", "company", "country", "state", "city", "zip", "owner", "website_url")
    _CUSTOMER_TIMES = ("lead_created_at", "free_trial_started_at")

    def create_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        for required in ("data_source_uuid", "external_id"):
            if _text(body.get(required)) is None:
                raise ApiError(400, b.missing_parameter(required))
        ds_uuid, external_id = body["data_source_uuid"].strip(), body["external_id"].strip()
        self.data_source(ds_uuid)
        if self._find_customer(ds_uuid, external_id) is not None:
            raise ApiError(422, b.invalid({"external_id": b.CUSTOMER_EXISTS}))
        record: dict[str, Any] = {
            "id": next(self._customer_ids),
            "uuid": _new_id("cus"),
            "external_id": external_id,
            "data_source_uuid": ds_uuid,
            "created_at": datetime.now(UTC),
            **dict.fromkeys((*self._CUSTOMER_FIELDS, *self._CUSTOMER_TIMES)),
        }
        self._apply_customer_fields(record, body)
        self.customers[record["uuid"]] = record
        return self._customer_json(record)

    def update_customer(self, cus_uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self._customer(cus_uuid)
        self._apply_customer_fields(record, body)
        return self._customer_json(record)

    def _apply_customer_fields(self, record: dict[str, Any], body: dict[str, Any]) -> None:
        for name in self._CUSTOMER_FIELDS:
            if name in body:
                record[name] = body[name] if isinstance(body[name], str) else None
        for name in self._CUSTOMER_TIMES:
            if name in body:
                record[name] = b.parse_time(body[name])

    def list_customers(self, query: dict[str, str]) -> list[dict[str, Any]]:
        wanted = {k: query[k] for k in ("data_source_uuid", "external_id", "email") if query.get(k)}
        found = [
            c for c in self.customers.values() if all(c.get(key) == value for key, value in wanted.items())
        ]
        customers = [self._customer_json(c) for c in found]
        if query.get("status"):
            customers = [c for c in customers if c["status"] == query["status"]]
        return customers

    def customer(self, cus_uuid: str) -> dict[str, Any]:
        return self._customer_json(self._customer(cus_uuid))

    def _customer(self, cus_uuid: str) -> dict[str, Any]:
        if cus_uuid not in self.customers:
            raise ApiError(404, b.not_found("Customer"))
        return self.customers[cus_uuid]

    def _find_customer(self, ds_uuid: str, external_id: str) -> dict[str, Any] | None:
        return next(
            (
                c
                for c in self.customers.values()
                if c["data_source_uuid"] == ds_uuid and c["external_id"] == external_id
            ),
            None,
        )

    def _customer_json(self, record: dict[str, Any]) -> dict[str, Any]:
        """As recorded: ``email``/``company`` are ``""`` when unset, address parts ``null``."""
        invoices = [i for i in self.invoices.values() if i.customer_uuid == record["uuid"]]
        subs = [s for s in self.subscriptions.values() if s.customer_uuid == record["uuid"]]
        active = any(not s.cancellation_dates for s in subs)
        status = "Active" if active else ("Cancelled" if subs else "New Lead")
        since = min((i.date for i in invoices), default=None) if subs else None
        return {
            "id": record["id"],
            "uuid": record["uuid"],
            "external_id": record["external_id"],
            "name": record["name"] or "",
            "email": record["email"] or "",
            "status": status,
            "customer-since": b.offset_timestamp(since),
            "attributes": {"custom": {}, "stripe": {}, "tags": []},
            "data_source_uuid": record["data_source_uuid"],
            "data_source_uuids": [record["data_source_uuid"]],
            "external_ids": [record["external_id"]],
            "company": record["company"] or "",
            "country": record["country"],
            "state": record["state"],
            "city": record["city"],
            "zip": record["zip"],
            "lead_created_at": b.timestamp(record["lead_created_at"]),
            "free_trial_started_at": b.timestamp(record["free_trial_started_at"]),
            "address": {
                "country": record["country"],
                "state": record["state"],
                "city": record["city"],
                "address_zip": record["zip"],
            },
            "mrr": 0,
            "arr": 0,
            "billing-system-url": None,
            "chartmogul-url": f"https://app.chartmogul.com/#/customers/{record['id']}",
            "billing-system-type": "Import API",
            "currency": "USD",
            "currency-sign": "$",
            "owner": record["owner"],
            "website_url": record["website_url"],
        }

    # --- plans --------------------------------------------------------------------------------

    def create_plan(self, body: dict[str, Any]) -> dict[str, Any]:
        for required in ("data_source_uuid", "name", "interval_count", "interval_unit"):
            if body.get(required) in (None, ""):
                raise ApiError(400, b.missing_parameter(required))
        ds_uuid = str(body["data_source_uuid"])
        self.data_source(ds_uuid)
        errors: dict[str, str] = {}
        count = _int(body["interval_count"])
        if count is None or count < 1:
            errors["interval_count"] = "must be an integer greater than 0"
        if body["interval_unit"] not in INTERVAL_UNITS:
            errors["interval_unit"] = "must be one of day, month, year"
        plan_uuid = _new_id("pl")
        external_id = _text(body.get("external_id")) or plan_uuid.removeprefix("pl_")
        if any(p["data_source_uuid"] == ds_uuid and p["external_id"] == external_id for p in self._plans()):
            errors["external_id"] = b.PLAN_EXISTS
        if errors:
            raise ApiError(422, b.invalid(errors))
        plan = {
            "external_id": external_id,
            "name": str(body["name"]),
            "interval_count": count,
            "interval_unit": body["interval_unit"],
            "data_source_uuid": ds_uuid,
            "uuid": plan_uuid,
        }
        self.plans[plan_uuid] = plan
        return dict(plan)

    def _plans(self) -> list[dict[str, Any]]:
        return list(self.plans.values())

    def list_plans(self, query: dict[str, str]) -> list[dict[str, Any]]:
        wanted = {k: query[k] for k in ("data_source_uuid", "external_id") if query.get(k)}
        return [dict(p) for p in self.plans.values() if all(p[k] == v for k, v in wanted.items())]

    def plan(self, plan_uuid: str) -> dict[str, Any]:
        if plan_uuid not in self.plans:
            raise ApiError(404, b.not_found("Plan"))
        return dict(self.plans[plan_uuid])

    # --- invoices -----------------------------------------------------------------------------

    def import_invoices(self, cus_uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        """Each invoice is checked and stored on its own; any failure makes the answer a 422 that
        lists every invoice with its ``errors`` (``{}`` for the stored ones)."""
        if cus_uuid not in self.customers:
            # Recorded behaviour when the path does not hold a customer UUID (chartmogul-python#119).
            raise ApiError(404, b.not_found("Invoice"))
        invoices = body.get("invoices")
        if not isinstance(invoices, list) or not invoices:
            raise ApiError(400, b.missing_parameter("invoices"))
        customer = self.customers[cus_uuid]
        results: list[dict[str, Any]] = []
        failed = False
        for raw in invoices:
            raw = raw if isinstance(raw, dict) else {}
            errors = self._invoice_errors(customer["data_source_uuid"], raw)
            if errors:
                failed = True
                results.append({**raw, "errors": errors})
                continue
            invoice = self._store_invoice(customer, raw)
            results.append({**invoice.to_json(), "errors": {}})
        if failed:
            raise ApiError(422, {"invoices": results})
        return {"invoices": results}

    def _invoice_errors(self, ds_uuid: str, raw: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        external_id = _text(raw.get("external_id"))
        if external_id is None:
            errors["external_id"] = "can't be blank"
        elif self._find_invoice(ds_uuid, external_id) is not None:
            errors["external_id"] = b.INVOICE_EXISTS
        if b.parse_time(raw.get("date")) is None:
            errors["date"] = "can't be blank or is not a valid date"
        currency = raw.get("currency")
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
            errors["currency"] = "is not a valid currency"
        if raw.get("due_date") is not None and b.parse_time(raw["due_date"]) is None:
            errors["due_date"] = "is not a valid date"
        lines = raw.get("line_items")
        if not isinstance(lines, list) or not lines:
            errors["line_items"] = "can't be blank"
            lines = []
        seen: set[str] = set()
        for line in lines:
            line = line if isinstance(line, dict) else {}
            for key, message in self._line_errors(ds_uuid, line).items():
                errors.setdefault(f"line_items.{key}", message)
            ext = _text(line.get("external_id"))
            if ext is not None:
                if (ds_uuid, ext) in self._line_item_ids or ext in seen:
                    errors.setdefault("line_items.external_id", b.LINE_ITEM_EXISTS)
                seen.add(ext)
        transactions = raw.get("transactions") or []
        total = sum(_int(line.get("amount_in_cents")) or 0 for line in lines if isinstance(line, dict))
        for txn in transactions if isinstance(transactions, list) else []:
            txn = txn if isinstance(txn, dict) else {}
            for key, message in self._transaction_errors(ds_uuid, txn, total).items():
                errors.setdefault(f"transactions.{key}", message)
        return errors

    def _find_invoice(self, ds_uuid: str, external_id: str) -> Invoice | None:
        key = (ds_uuid, external_id)
        return next((i for i in self.invoices.values() if (i.data_source_uuid, i.external_id) == key), None)

    def _line_errors(self, ds_uuid: str, line: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        kind = line.get("type")
        if kind not in LINE_TYPES:
            errors["type"] = "must be one of subscription, one_time, trial"
        if _int(line.get("amount_in_cents")) is None:
            errors["amount_in_cents"] = "is not a number"
        quantity = line.get("quantity", 1)
        if _int(quantity) is None or quantity == 0:
            errors["quantity"] = "must be a non-zero integer"
        for name in ("discount_amount_in_cents", "tax_amount_in_cents", "transaction_fees_in_cents"):
            if line.get(name) is not None and _int(line[name]) is None:
                errors[name] = "is not a number"
        if kind in ("subscription", "trial"):
            if _text(line.get("subscription_external_id")) is None:
                errors["subscription_external_id"] = "can't be blank"
            plan = self.plans.get(str(line.get("plan_uuid")))
            if plan is None or plan["data_source_uuid"] != ds_uuid:
                errors["plan_uuid"] = "can't be blank or does not exist"
            start = b.parse_time(line.get("service_period_start"))
            end = b.parse_time(line.get("service_period_end"))
            if start is None:
                errors["service_period_start"] = "can't be blank"
            if end is None:
                errors["service_period_end"] = "can't be blank"
            if start is not None and end is not None and end <= start:
                errors["service_period_end"] = "must be after service_period_start"
            if line.get("cancelled_at") is not None and b.parse_time(line["cancelled_at"]) is None:
                errors["cancelled_at"] = "is not a valid date"
        return errors

    def _transaction_errors(self, ds_uuid: str, txn: dict[str, Any], invoice_total: int) -> dict[str, str]:
        """``invoice_total``: the sum of the invoice's line item amounts, the most a refund can be."""
        errors: dict[str, str] = {}
        if txn.get("type") not in ("payment", "refund"):
            errors["type"] = "must be payment or refund"
        if txn.get("result") not in ("successful", "failed"):
            errors["result"] = "must be successful or failed"
        if b.parse_time(txn.get("date")) is None:
            errors["date"] = "can't be blank or is not a valid date"
        for name in ("amount_in_cents", "transaction_fees_in_cents"):
            if txn.get(name) is not None and _int(txn[name]) is None:
                errors[name] = "is not a number"
        amount = _int(txn.get("amount_in_cents"))
        if txn.get("type") == "refund" and amount is not None and "amount_in_cents" not in errors:
            # Refunds are positive amounts (ChartMogul's refunds guide) and cannot exceed the
            # invoice; these two texts are the sandbox's own, no recording shows ChartMogul's.
            if amount <= 0:
                errors["amount_in_cents"] = b.REFUND_NOT_POSITIVE
            elif amount > invoice_total:
                errors["amount_in_cents"] = b.REFUND_ABOVE_INVOICE
        ext = _text(txn.get("external_id"))
        if ext is not None and (ds_uuid, ext) in self._transaction_ids:
            errors["external_id"] = b.TAKEN
        return errors

    def _store_invoice(self, customer: dict[str, Any], raw: dict[str, Any]) -> Invoice:
        ds_uuid = customer["data_source_uuid"]
        lines = [self._store_line(customer, line) for line in raw["line_items"]]
        txns = [self._store_transaction(ds_uuid, txn) for txn in raw.get("transactions") or []]
        invoice = Invoice(
            uuid=_new_id("inv"),
            customer_uuid=customer["uuid"],
            data_source_uuid=ds_uuid,
            external_id=raw["external_id"].strip(),
            date=b.parse_time(raw["date"]) or datetime.now(UTC),
            due_date=b.parse_time(raw.get("due_date")),
            currency=raw["currency"],
            line_items=lines,
            transactions=txns,
        )
        self.invoices[invoice.uuid] = invoice
        return invoice

    def _store_line(self, customer: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
        ds_uuid = customer["data_source_uuid"]
        ext = _text(line.get("external_id"))
        if ext is not None:
            self._line_item_ids.add((ds_uuid, ext))
        item: dict[str, Any] = {"uuid": _new_id("li"), "external_id": ext, "type": line["type"]}
        if line["type"] == "one_time":
            item["description"] = line.get("description")
        else:
            sub = self._subscription_for(customer, line)
            item |= {
                "subscription_uuid": sub.uuid,
                "subscription_external_id": sub.external_id,
                "prorated": bool(line.get("prorated", False)),
                "proration_type": line.get("proration_type"),
                "service_period_start": b.timestamp(b.parse_time(line["service_period_start"])),
                "service_period_end": b.timestamp(b.parse_time(line["service_period_end"])),
                "plan_uuid": line["plan_uuid"],
            }
        item |= {
            "amount_in_cents": line["amount_in_cents"],
            "quantity": line.get("quantity", 1),
            "discount_code": line.get("discount_code") or "",
            "discount_amount_in_cents": line.get("discount_amount_in_cents") or 0,
            "tax_amount_in_cents": line.get("tax_amount_in_cents") or 0,
            "transaction_fees_in_cents": line.get("transaction_fees_in_cents") or 0,
            "account_code": line.get("account_code") or "",
            "transaction_fees_currency": line.get("transaction_fees_currency"),
            "discount_description": line.get("discount_description"),
            "event_order": line.get("event_order"),
        }
        return item

    def _subscription_for(self, customer: dict[str, Any], line: dict[str, Any]) -> Subscription:
        """ChartMogul builds one subscription per ``subscription_external_id`` in a data source."""
        ds_uuid, ext = customer["data_source_uuid"], line["subscription_external_id"].strip()
        subs = self.subscriptions.values()
        sub = next((s for s in subs if s.data_source_uuid == ds_uuid and s.external_id == ext), None)
        if sub is None:
            sub = Subscription(
                uuid=_new_id("sub"),
                external_id=ext,
                customer_uuid=customer["uuid"],
                data_source_uuid=ds_uuid,
                plan_uuid=line["plan_uuid"],
                subscription_set_external_id=_text(line.get("subscription_set_external_id")),
            )
            self.subscriptions[sub.uuid] = sub
        sub.plan_uuid = line["plan_uuid"]
        cancelled_at = b.parse_time(line.get("cancelled_at"))
        if cancelled_at is not None and cancelled_at not in sub.cancellation_dates:
            sub.cancellation_dates.append(cancelled_at)
        return sub

    def _store_transaction(self, ds_uuid: str, txn: dict[str, Any]) -> dict[str, Any]:
        ext = _text(txn.get("external_id"))
        if ext is not None:
            self._transaction_ids.add((ds_uuid, ext))
        return {
            "uuid": _new_id("tr"),
            "external_id": ext,
            "amount_in_cents": txn.get("amount_in_cents"),
            "type": txn["type"],
            "date": b.timestamp(b.parse_time(txn["date"])),
            "result": txn["result"],
            "transaction_fees_in_cents": txn.get("transaction_fees_in_cents"),
            "transaction_fees_currency": txn.get("transaction_fees_currency"),
        }

    def add_transaction(self, inv_uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        invoice = self.invoices.get(inv_uuid)
        if invoice is None:
            raise ApiError(404, b.not_found("Invoice"))
        total = sum(int(item["amount_in_cents"]) for item in invoice.line_items)
        errors = self._transaction_errors(invoice.data_source_uuid, body, total)
        if errors:
            raise ApiError(422, b.invalid(errors))
        txn = self._store_transaction(invoice.data_source_uuid, body)
        invoice.transactions.append(txn)
        return dict(txn)

    def list_invoices(self, query: dict[str, str]) -> list[dict[str, Any]]:
        wanted = {k: query[k] for k in ("data_source_uuid", "external_id", "customer_uuid") if query.get(k)}
        return [
            i.to_json(with_owner=True)
            for i in self.invoices.values()
            if all(getattr(i, key) == value for key, value in wanted.items())
        ]

    def invoice(self, inv_uuid: str) -> dict[str, Any]:
        if inv_uuid not in self.invoices:
            raise ApiError(404, b.not_found("Invoice"))
        return self.invoices[inv_uuid].to_json(with_owner=True)

    def customer_invoices(self, cus_uuid: str) -> list[dict[str, Any]]:
        self._customer(cus_uuid)
        return [i.to_json() for i in self.invoices.values() if i.customer_uuid == cus_uuid]

    # --- subscriptions ------------------------------------------------------------------------

    def customer_subscriptions(self, cus_uuid: str) -> list[dict[str, Any]]:
        self._customer(cus_uuid)
        return [s.to_json() for s in self.subscriptions.values() if s.customer_uuid == cus_uuid]

    def update_cancellation(self, sub_uuid: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        """``cancellation_dates`` replaces the whole history (``[]`` clears it); ``cancelled_at`` adds one.

        Cancellation times must be in the past (ChartMogul's docs).
        """
        sub = self.subscriptions.get(sub_uuid)
        if sub is None:
            raise ApiError(404, b.not_found("Subscription"))
        if "cancellation_dates" in body:
            raw_dates = body["cancellation_dates"]
            if not isinstance(raw_dates, list):
                raise ApiError(422, b.invalid({"cancellation_dates": "must be an array of dates"}))
            key = "cancellation_dates"
        elif body.get("cancelled_at") is not None:
            raw_dates, key = [body["cancelled_at"]], "cancelled_at"
        else:
            raise ApiError(400, b.missing_parameter("cancelled_at"))
        dates = [b.parse_time(d) for d in raw_dates]
        if any(d is None for d in dates):
            raise ApiError(422, b.invalid({key: "is not a valid date"}))
        parsed = sorted({d for d in dates if d is not None})
        if any(d > now for d in parsed):
            raise ApiError(422, b.invalid({key: "cannot be in the future"}))
        if key == "cancellation_dates":
            sub.cancellation_dates = parsed
        elif parsed[0] not in sub.cancellation_dates:
            sub.cancellation_dates.append(parsed[0])
        return sub.to_json()
