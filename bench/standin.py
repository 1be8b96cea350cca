"""bench/standin: the AWS stand-in's own rates, plain moto against moto with the hot-path fixes.

    python bench/standin.py [--messages 1000] [--plain-messages 300] [--concurrency 16]

Starts both stand-ins as processes on free loopback ports (one after the other, so they never share
the cores) and measures, with aiobotocore at ``--concurrency``: FIFO SendMessage of 1 KB over 100
groups, SendMessageBatch, ReceiveMessage(10) + DeleteMessageBatch, and conditional PutItem,
consistent GetItem and conditional UpdateItem; with the stand-in's CPU per request (psutil).
"plain moto" is moto's own SQS code with the project's FIFO fixes, behind the same server; it gets
fewer messages because it slows down as its queue grows (that is the point). Bounded: at most 5,000
messages; each drain gives up after 120 s.
"""

from __future__ import annotations

import argparse
import asyncio

from _standin import Ceiling, measure_ceiling, start_stand_in, target_line


def _measure(plain: bool, messages: int, concurrency: int) -> Ceiling:
    stand_in = start_stand_in(plain=plain)
    try:
        return asyncio.run(
            measure_ceiling(stand_in.url, stand_in.pid, messages=messages, concurrency=concurrency)
        )
    finally:
        stand_in.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--plain-messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    messages = max(100, min(args.messages, 5000))
    plain_messages = max(100, min(args.plain_messages, messages))
    plain = _measure(True, plain_messages, args.concurrency)
    fast = _measure(False, messages, args.concurrency)
    print(f"messages of 1 KB over 100 groups, concurrency {args.concurrency}")
    for name, ceiling in (
        (f"plain moto (+ FIFO fixes), {plain_messages} messages", plain),
        (f"moto + hot-path fixes (shipped), {messages} messages", fast),
    ):
        print(f"{name}:")
        for line in ceiling.lines():
            print(f"  {line}")
    speedup = fast.send / plain.send
    print(target_line("stand-in SendMessage speed-up", f"{speedup:.1f}x", ">= 5x", speedup >= 5))


if __name__ == "__main__":
    main()
