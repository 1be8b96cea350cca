"""Run one sandbox (or the AWS stand-in) as a process: ``python -m billing_sandboxes xendit --port 4001``."""

from __future__ import annotations

import argparse
import importlib

import uvicorn

from billing_sandboxes._registry import SANDBOXES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="billing-sandbox", description=__doc__)
    parser.add_argument("name", choices=[*SANDBOXES, "aws"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument(
        "--dedup-window",
        type=int,
        default=300,
        help="aws only: SQS FIFO deduplication window in seconds (AWS: 300)",
    )
    parser.add_argument(
        "--plain-moto",
        action="store_true",
        help="aws only: without the SQS hot-path fixes (for a side-by-side benchmark)",
    )
    args = parser.parse_args(argv)
    if args.name == "aws":
        from billing_sandboxes.aws import serve_aws_stand_in

        serve_aws_stand_in(
            args.host, args.port or 4566, dedup_window_seconds=args.dedup_window, fast=not args.plain_moto
        )
        return
    spec = SANDBOXES[args.name]
    module = importlib.import_module(spec.module)
    uvicorn.run(module.create_app(), host=args.host, port=args.port or spec.port, log_level="warning")


if __name__ == "__main__":
    main()
