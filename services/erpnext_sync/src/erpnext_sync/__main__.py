"""``billing-erpnext-sync``: the ERPNext consumer as a process."""

from __future__ import annotations

import sys

from erpnext_sync.app import build
from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing.consumer import run_consumer


def main() -> None:
    sys.exit(run_consumer(build, ErpnextSyncSettings()))


if __name__ == "__main__":
    main()
