"""``billing reconcile``: Xendit against ERPNext, ChartMogul and Mautic; drift repaired through xendit_sync.

Pure parts (tested without servers): ``_window``, ``_model``, ``_compare``, ``_classify``, ``_report``.
I/O: ``_xendit`` (Xendit's lists), ``_books`` (the books and the ledger), ``_repair`` (publishing),
``_run`` (one run), ``command`` (the command line).
"""

from billing_cli.reconcile.command import EPILOG, reconcile

__all__ = ["EPILOG", "reconcile"]
