"""A local Xendit: the invoice API as Xendit serves it, and a ``/_sandbox/`` side door for tests.

``create_app(**overrides)`` builds it, configured from ``XENDIT_SANDBOX_*`` (see
``XenditSandboxConfig``); ``docs/xendit.md`` describes how to drive it.
"""

from billing_sandboxes.xendit._app import XenditSandbox, create_app
from billing_sandboxes.xendit._config import RETRY_GAPS_SECONDS, XenditSandboxConfig

__all__ = ["RETRY_GAPS_SECONDS", "XenditSandbox", "XenditSandboxConfig", "create_app"]
