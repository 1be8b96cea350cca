"""The sandbox's in-memory site: documents by DocType, naming series, and Frappe's document life cycle.

``insert`` and ``update`` run the steps of F15 ``Document.insert``/``save`` that matter to a client:
defaults, mandatory and link checks, the DocType's own validation, naming, unique fields, the
``docstatus`` state machine and the submit/cancel hooks, all in one transaction (rolled back on error).
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from billing_sandboxes.erpnext._controllers import controller_for
from billing_sandboxes.erpnext._errors import FrappeError, not_found, plain_message
from billing_sandboxes.erpnext._meta import (
    CHILD_SYSTEM_FIELDS,
    DOCTYPES,
    SYSTEM_FIELDS,
    DocTypeMeta,
    TableMeta,
)
from billing_sandboxes.erpnext._query import matches, normalise_filters, order, select
from billing_sandboxes.erpnext._seed import SandboxConfig, master_data

Doc = dict[str, Any]
_DOCSTATUS_LABEL = {0: "0 (Draft)", 1: "1 (Submitted)", 2: "2 (Cancelled)"}
_ALLOWED_TRANSITIONS = {(0, 0), (0, 1), (1, 1), (1, 2)}


def to_decimal(value: Any) -> Decimal:
    """Frappe's ``flt``: numbers and numeric strings, anything else is 0."""
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except (InvalidOperation, ValueError):
        return Decimal(0)


def cint(value: Any) -> int:
    try:
        return int(to_decimal(value))
    except (InvalidOperation, ValueError):
        return 0


class Store:
    """One ERPNext site's data; every public method is one transaction."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._last_stamp = datetime(2000, 1, 1)  # noqa: DTZ001 - site-local naive times, as Frappe stores them
        self.reset()

    # ------------------------------------------------------------------ clock and state
    def reset(self) -> None:
        with self._lock:
            self.docs: dict[str, dict[str, Doc]] = {doctype: {} for doctype in DOCTYPES}
            self.series: dict[str, int] = {}
            stamp = self.timestamp()
            for doctype, docs in master_data(self.config).items():
                for doc in docs:
                    self.docs[doctype][doc["name"]] = {
                        "doctype": doctype,
                        "docstatus": 0,
                        "idx": 0,
                        "owner": "Administrator",
                        "modified_by": "Administrator",
                        "creation": stamp,
                        "modified": stamp,
                        **doc,
                    }

    def now(self) -> datetime:
        return datetime.now(ZoneInfo(self.config.time_zone)).replace(tzinfo=None)

    def today(self) -> date:
        return self.now().date()

    def timestamp(self) -> str:
        """Strictly increasing, so ``order_by=modified desc`` is deterministic."""
        stamp = max(self.now(), self._last_stamp + timedelta(microseconds=1))
        self._last_stamp = stamp
        return stamp.strftime("%Y-%m-%d %H:%M:%S.%f")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            saved = copy.deepcopy(self.docs), dict(self.series)
            try:
                yield
            except BaseException:
                self.docs, self.series = saved
                raise

    def snapshot(self, doctype: str | None = None) -> dict[str, list[Doc]]:
        with self._lock:
            names = [doctype] if doctype else list(self.docs)
            return {dt: [self.serialise(doc) for doc in self.docs.get(dt, {}).values()] for dt in names}

    # ------------------------------------------------------------------ helpers for controllers
    def meta(self, doctype: str) -> DocTypeMeta:
        meta = DOCTYPES.get(doctype)
        if meta is None:
            raise FrappeError("DoesNotExistError", f"DocType {doctype} not found")
        return meta

    def exists(self, doctype: str, name: Any) -> bool:
        return isinstance(name, str) and name in self.docs.get(doctype, {})

    def raw(self, doctype: str, name: str) -> Doc:
        """The stored document itself (controllers may change it inside a transaction)."""
        doc = self.docs.get(doctype, {}).get(name)
        if doc is None:
            raise not_found(doctype, name)
        return doc

    def all(self, doctype: str) -> list[Doc]:
        return list(self.docs.get(doctype, {}).values())

    def custom_fields(self, doctype: str) -> dict[str, Doc]:
        fields = self.docs["Custom Field"].values()
        return {field["fieldname"]: field for field in fields if field["dt"] == doctype}

    def next_in_series(self, prefix: str) -> str:
        """``ACC-SINV-.YYYY.-`` → ``ACC-SINV-2025-00001`` (F15 ``parse_naming_series``; today's year)."""
        expanded = prefix.replace(".YYYY.", str(self.today().year)).replace(".", "")
        self.series[expanded] = self.series.get(expanded, 0) + 1
        return f"{expanded}{self.series[expanded]:05d}"

    def stamp(self, doc: Doc) -> None:
        doc["modified"] = self.timestamp()
        doc["modified_by"] = self.config.user

    @staticmethod
    def serialise(doc: Doc) -> Doc:
        """``as_dict(no_nulls=True)``: nulls left out, in child rows too."""
        out: Doc = {}
        for key, value in doc.items():
            if value is None:
                continue
            if isinstance(value, list):
                out[key] = [{k: v for k, v in row.items() if v is not None} for row in value]
            else:
                out[key] = value
        return out

    # ------------------------------------------------------------------ the REST operations
    def get(self, doctype: str, name: str) -> Doc:
        with self._lock:
            self.meta(doctype)
            return self.serialise(self.raw(doctype, name))

    def query(
        self,
        doctype: str,
        *,
        filters: Any,
        fields: list[str],
        order_by: str | None,
        start: int,
        page_length: int,
    ) -> list[Doc]:
        with self._lock:
            self.meta(doctype)
            conditions = normalise_filters(filters)
            self._check_columns(doctype, [field for field, _, _ in conditions])
            rows = [doc for doc in self.docs[doctype].values() if matches(doc, conditions)]
            rows = order(rows, order_by)[start:]
            if page_length:
                rows = rows[:page_length]
            return [select(doc, fields) for doc in rows]

    def insert(self, doctype: str, body: Doc) -> tuple[Doc, list[Doc]]:
        with self.transaction():
            meta = self.meta(doctype)
            controller = controller_for(self, meta)
            docstatus = cint(body.get("docstatus", 0))
            if docstatus not in (0, 1) or (docstatus == 1 and not meta.submittable):
                self._bad_transition(0, docstatus)
            doc = self._clean(meta, body)
            doc.update(doctype=doctype, docstatus=docstatus, idx=0)
            controller.set_missing(doc)
            self._validate(meta, doc)
            controller.validate(doc)
            name, messages = controller.autoname(doc)
            if name in self.docs[doctype]:
                raise self._duplicate_name(doctype, name)
            doc["name"] = name
            self._link_children(meta, doc)
            self._check_unique(doctype, doc)
            stamp = self.timestamp()
            doc.update(owner=self.config.user, creation=stamp, modified=stamp, modified_by=self.config.user)
            self.docs[doctype][name] = doc
            if docstatus == 1:
                controller.on_submit(doc)
            controller.set_status(doc)
            return self.serialise(doc), messages

    def update(self, doctype: str, name: str, body: Doc) -> Doc:
        with self.transaction():
            meta = self.meta(doctype)
            controller = controller_for(self, meta)
            stored = self.raw(doctype, name)
            old = cint(stored["docstatus"])
            new = cint(body.get("docstatus", old))
            if "modified" in body and str(body["modified"]) != stored["modified"]:
                raise FrappeError(
                    "TimestampMismatchError",
                    f"Error: Document has been modified after you have opened it ({stored['modified']}, "
                    f"{body['modified']}). Please refresh to get the latest document.",
                )
            if old == 2:
                raise FrappeError("ValidationError", "Cannot edit cancelled document")
            if (old, new) not in _ALLOWED_TRANSITIONS or (new > 0 and not meta.submittable):
                self._bad_transition(old, new)
            changes = self._clean(meta, body)
            if old == 1:
                if new == 2:
                    stored["docstatus"] = 2
                    controller.on_cancel(stored)
                else:
                    self._check_update_after_submit(meta, stored, changes)
                    stored.update(changes)
                controller.set_status(stored)
                self.stamp(stored)
                return self.serialise(stored)
            doc = copy.deepcopy(stored)
            doc.update(changes)
            doc["docstatus"] = new
            controller.set_missing(doc)
            self._validate(meta, doc)
            controller.validate(doc)
            self._link_children(meta, doc)
            self._check_unique(doctype, doc)
            self.stamp(doc)
            self.docs[doctype][name] = doc
            if new == 1:
                controller.on_submit(doc)
            controller.set_status(doc)
            return self.serialise(doc)

    def delete(self, doctype: str, name: str) -> None:
        with self.transaction():
            self.meta(doctype)
            doc = self.docs[doctype].get(name)
            if doc is None:
                raise FrappeError("DoesNotExistError", messages=[])  # a bare raise in delete_doc
            if doc["docstatus"] == 1:
                raise FrappeError(
                    "ValidationError",
                    f"{doctype} {name}: Submitted Record cannot be deleted. You must Cancel it first.",
                )
            controller_for(self, self.meta(doctype)).check_links(doc)
            del self.docs[doctype][name]

    # ------------------------------------------------------------------ internals
    def _clean(self, meta: DocTypeMeta, body: Doc) -> Doc:
        """The body as a document: framework fields dropped, unknown custom fields ignored, types fixed."""
        known_custom = self.custom_fields(meta.name)
        doc: Doc = {}
        for key, value in body.items():
            if key in SYSTEM_FIELDS or key.startswith("__"):
                continue
            if key.startswith("custom_") and key not in known_custom:
                continue  # no such column: Frappe silently drops it
            if key in meta.tables:
                doc[key] = [self._clean_row(meta.tables[key], row) for row in (value or [])]
            elif key in meta.numbers:
                doc[key] = to_decimal(value)
            elif key in meta.checks:
                doc[key] = cint(value)
            else:
                doc[key] = value
        return doc

    @staticmethod
    def _clean_row(table: TableMeta, row: Any) -> Doc:
        if not isinstance(row, dict):
            raise FrappeError("ValidationError", f"Invalid row in {table.doctype}: {row}")
        clean: Doc = {k: v for k, v in row.items() if k not in CHILD_SYSTEM_FIELDS}
        for key in table.numbers & clean.keys():
            clean[key] = to_decimal(clean[key])
        return clean

    def _link_children(self, meta: DocTypeMeta, doc: Doc) -> None:
        for fieldname, table in meta.tables.items():
            for idx, row in enumerate(doc.get(fieldname) or [], start=1):
                row.update(
                    name=row.get("name") or secrets.token_hex(5),
                    idx=idx,
                    parent=doc.get("name"),
                    parentfield=fieldname,
                    parenttype=meta.name,
                    doctype=table.doctype,
                    docstatus=doc["docstatus"],
                )

    def _validate(self, meta: DocTypeMeta, doc: Doc) -> None:
        missing = [(f, label) for f, label in meta.mandatory if doc.get(f) in (None, "", [])]
        if missing:
            fieldnames = ", ".join(f for f, _ in missing)
            raise FrappeError(
                "MandatoryError",
                exception_text=f"[{meta.name}, {doc.get('name') or 'new'}]: {fieldnames}",
                messages=[
                    plain_message(f"Error: Value missing for {meta.name}: {lbl}") for _, lbl in missing
                ],
            )
        for link in meta.links:
            value = doc.get(link.fieldname)
            if value not in (None, "") and not self.exists(link.target, value):
                raise FrappeError("LinkValidationError", f"Could not find {link.label}: {value}")
        for fieldname, table in meta.tables.items():
            for idx, row in enumerate(doc.get(fieldname) or [], start=1):
                for f, label in table.mandatory:
                    if row.get(f) in (None, ""):
                        raise FrappeError(
                            "MandatoryError",
                            exception_text=f"[{table.doctype}, {idx}]: {f}",
                            messages=[plain_message(f"Error: Value missing for {table.doctype}: {label}")],
                        )
                for link in table.links:
                    value = row.get(link.fieldname)
                    if value not in (None, "") and not self.exists(link.target, value):
                        message = f"Could not find Row #{idx}: {link.label}: {value}"
                        raise FrappeError("LinkValidationError", message)

    def _check_unique(self, doctype: str, doc: Doc) -> None:
        for fieldname, field in self.custom_fields(doctype).items():
            value = doc.get(fieldname)
            if not field.get("unique") or value in (None, ""):
                continue
            for other in self.docs[doctype].values():
                if other["name"] != doc["name"] and other.get(fieldname) == value:
                    label = field.get("label") or fieldname
                    raise FrappeError(
                        "UniqueValidationError",
                        exception_text=(
                            f"('{doctype}', '{doc['name']}', IntegrityError(1062, "
                            f"\"Duplicate entry '{value}' for key '{fieldname}'\"))"
                        ),
                        messages=[plain_message(f"{label} must be unique")],
                    )

    def _check_columns(self, doctype: str, fields: list[str]) -> None:
        custom = self.custom_fields(doctype)
        for field in fields:
            if field.startswith("custom_") and field not in custom:
                raise FrappeError(
                    "OperationalError",
                    exception_text=f"(1054, \"Unknown column 'tab{doctype}.{field}' in 'where clause'\")",
                    messages=[],
                    module="pymysql.err",
                )

    @staticmethod
    def _duplicate_name(doctype: str, name: str) -> FrappeError:
        integrity = f"IntegrityError(1062, \"Duplicate entry '{name}' for key 'PRIMARY'\")"
        message = plain_message(
            f"{doctype} <strong>{name}</strong> already exists", title="Duplicate Name", indicator="red"
        )
        return FrappeError(
            "DuplicateEntryError", exception_text=f"('{doctype}', '{name}', {integrity})", messages=[message]
        )

    @staticmethod
    def _bad_transition(old: int, new: int) -> None:
        raise FrappeError(
            "DocstatusTransitionError",
            f"Cannot change docstatus from {_DOCSTATUS_LABEL.get(old, old)} "
            f"to {_DOCSTATUS_LABEL.get(new, new)}",
        )

    @staticmethod
    def _check_update_after_submit(meta: DocTypeMeta, stored: Doc, changes: Doc) -> None:
        for key, value in changes.items():
            if key in meta.allow_on_submit or key == "docstatus":
                continue
            before = stored.get(key)
            if key in meta.tables:
                rows = list(zip(value, before or [], strict=False))
                same = len(value) == len(before or []) and all(
                    all(old_row.get(k) == v for k, v in row.items()) for row, old_row in rows
                )
            else:
                same = before == value or (before is None and value in ("", None))
            if not same:
                label = key.replace("_", " ").title()
                raise FrappeError(
                    "UpdateAfterSubmitError",
                    f"Not allowed to change {label} after submission from {before} to {value}",
                )
