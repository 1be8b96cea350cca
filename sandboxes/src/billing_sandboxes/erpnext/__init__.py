"""The ERPNext sandbox: Frappe/ERPNext v15's REST API in memory, for erpnext_sync (ref/erpnext.md §10)."""

from billing_sandboxes.erpnext._app import create_app
from billing_sandboxes.erpnext._seed import CUSTOM_FIELDS, SandboxConfig

__all__ = ["CUSTOM_FIELDS", "SandboxConfig", "create_app"]
