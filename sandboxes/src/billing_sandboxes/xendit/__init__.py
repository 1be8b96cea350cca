"""A local Xendit: every product Lovia uses, as Xendit serves it, and a ``/_sandbox/`` side door.

Products (one module each, sharing the store, the clock and the callback sender of ``_core``):

* invoices (``_invoice_api``): ``/v2/invoices``, ``/invoices/{id}/expire!``; expiry on their own at
  ``invoice_duration``; PH channels for PHP invoices; every paid invoice carries ``payment_id``.
* fixed virtual accounts (``_fva``): ``/callback_virtual_accounts``, test-mode ``simulate_payment``,
  ``/callback_virtual_account_payments/payment_id=…``; the flat ``fva_paid`` callback.
* payment methods v2 (``_payment_methods``) and payment requests v2 (``_payment_requests``):
  ``/v2/payment_methods``, ``/payment_requests`` (captures, simulate); ``payment.succeeded``.
* e-wallet charges (``_ewallets``): ``/ewallets/charges``; ``ewallet.capture``.
* subscriptions (``_recurring``): ``/recurring/plans`` and their cycles; ``recurring.*`` and the
  cycle's ``payment.succeeded``.
* refunds (``_refunds``): ``/refunds`` for paid invoices and payment requests; ``refund.*``.

Callbacks go to ``<callback_base_url>/<product>`` (``invoice``, ``fva``, ``payment``, ``recurring``,
``ewallet``, ``refund``, ``payment_method``). ``create_app(**overrides)`` builds it, configured from
``XENDIT_SANDBOX_*`` (see ``XenditSandboxConfig``); ``docs/xendit.md`` describes how to drive it.
"""

from billing_sandboxes.xendit._app import create_app
from billing_sandboxes.xendit._config import RETRY_GAPS_SECONDS, XenditSandboxConfig
from billing_sandboxes.xendit._core import XenditSandbox

__all__ = ["RETRY_GAPS_SECONDS", "XenditSandbox", "XenditSandboxConfig", "create_app"]
