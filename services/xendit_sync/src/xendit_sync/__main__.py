"""``billing-xendit-sync``: the xendit queue's consumer, until SIGTERM."""

from __future__ import annotations

import sys

from lovia_billing.consumer import run_consumer
from xendit_sync.app import build
from xendit_sync.settings import XenditSyncSettings


def main() -> None:
    sys.exit(run_consumer(build, XenditSyncSettings()))


if __name__ == "__main__":
    main()
