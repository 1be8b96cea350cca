"""``billing-chartmogul-sync``: the ChartMogul consumer as a process."""

from __future__ import annotations

import sys

from chartmogul_sync.app import build
from chartmogul_sync.settings import ChartmogulSyncSettings
from lovia_billing.consumer import run_consumer


def main() -> None:
    sys.exit(run_consumer(build, ChartmogulSyncSettings()))


if __name__ == "__main__":
    main()
