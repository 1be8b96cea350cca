"""``billing-mautic-sync``: the Mautic consumer process."""

from __future__ import annotations

import sys

from lovia_billing.consumer import run_consumer
from mautic_sync.app import build
from mautic_sync.settings import MauticSyncSettings


def main() -> None:
    sys.exit(run_consumer(build, MauticSyncSettings()))


if __name__ == "__main__":
    main()
