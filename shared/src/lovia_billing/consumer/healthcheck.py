"""Container HEALTHCHECK of a consumer: ``python -m lovia_billing.consumer.healthcheck [--max-age 90]``.

Exits 0 when the heartbeat file (``--file``, else the ``HEALTH_FILE`` environment variable) was
touched within ``--max-age`` seconds, 1 otherwise (missing, stale, or no file configured).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lovia_billing.consumer._health import DEFAULT_MAX_AGE_SECONDS, heartbeat_age


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lovia_billing.consumer.healthcheck")
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS, help="seconds (default 90)")
    parser.add_argument("--file", default=os.environ.get("HEALTH_FILE"), help="heartbeat file (HEALTH_FILE)")
    args = parser.parse_args(argv)
    if not args.file:
        print("unhealthy: no heartbeat file configured (HEALTH_FILE)", file=sys.stderr)
        return 1
    age = heartbeat_age(Path(args.file))
    if age is None:
        print(f"unhealthy: {args.file} does not exist", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"unhealthy: heartbeat {age:.0f} s old (max {args.max_age:.0f} s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
