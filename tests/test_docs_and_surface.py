"""The README lists every setting, and shared/'s public surface changes only on purpose."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import lovia_billing
from lovia_billing import ConsumerSettings, IngestSettings

ROOT = Path(__file__).resolve().parents[1]
SERVICE_SETTINGS = {
    "billing_cli.reconcile._settings": "ReconcileSettings",
    "xendit_sync.settings": "XenditSyncSettings",
    "erpnext_sync.settings": "ErpnextSyncSettings",
    "chartmogul_sync.settings": "ChartmogulSyncSettings",
    "mautic_sync.settings": "MauticSyncSettings",
}


def _env_names(settings_class: type) -> set[str]:
    names = set()
    for name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        names.add(str(alias if isinstance(alias, str) else name).upper())
    return names


def test_readme_lists_every_setting_of_every_service() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    expected = _env_names(IngestSettings) | _env_names(ConsumerSettings)
    for module, class_name in SERVICE_SETTINGS.items():
        expected |= _env_names(getattr(importlib.import_module(module), class_name))
    missing = sorted(expected - documented)
    assert missing == [], f"settings missing from README.md: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text().split("## ")[0]
    assert "make run" in head
    assert "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_shared_public_surface_is_pinned() -> None:
    assert sorted(lovia_billing.__all__) == sorted(set(lovia_billing.__all__))
    assert set(lovia_billing.__all__) == {
        "Amount",
        "BillingError",
        "BillingSettings",
        "ConfigurationError",
        "ConfirmationMismatch",
        "ConsumerSettings",
        "Currency",
        "CustomerUpserted",
        "DomainEvent",
        "DownstreamTimeout",
        "DownstreamUnavailable",
        "Event",
        "EventType",
        "IngestSettings",
        "Integration",
        "InvoiceExpired",
        "InvoiceIssued",
        "InvoiceLine",
        "InvoiceRequested",
        "JsonNumber",
        "PaymentSucceeded",
        "PermanentError",
        "ProviderAmount",
        "PublishError",
        "RateLimited",
        "RefundSucceeded",
        "RetryableError",
        "SUPPORTED_CURRENCIES",
        "ServicePeriod",
        "SubscriptionCancelled",
        "Topology",
        "XenditCallback",
        "XenditInvoiceExpired",
        "XenditInvoicePaid",
        "XenditProduct",
        "body_hash",
        "canonical_json",
        "check_precision",
        "derive_event_id",
        "event_from_data",
        "from_minor_units",
        "parse_event",
        "to_minor_units",
    }
    for name in lovia_billing.__all__:
        assert hasattr(lovia_billing, name), name


def test_domain_modules_import_no_io_libraries() -> None:
    for module in ("_events.py", "_money.py", "_canonical.py", "topology.py", "_errors.py"):
        source = (ROOT / "shared" / "src" / "lovia_billing" / module).read_text()
        for io_library in ("boto", "httpx", "aiobotocore", "litestar"):
            assert f"import {io_library}" not in source, (module, io_library)
            assert f"from {io_library}" not in source, (module, io_library)
