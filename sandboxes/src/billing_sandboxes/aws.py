"""The local AWS stand-in: moto in server mode (SQS FIFO, DynamoDB, Secrets Manager) over real HTTP."""

from __future__ import annotations

import moto.sqs.models
from moto.server import ThreadedMotoServer


def set_dedup_window(seconds: int) -> None:
    """Shorten SQS FIFO's 5-minute deduplication window (a module constant in moto).

    Only a stand-in started by this project does this, so tests can show what happens after the
    window without waiting five minutes.
    """
    moto.sqs.models.DEDUPLICATION_TIME_IN_SECONDS = seconds


def start_aws_stand_in(host: str, port: int, *, dedup_window_seconds: int = 300) -> ThreadedMotoServer:
    """Start moto's server in a background thread of this process; ``.stop()`` ends it."""
    set_dedup_window(dedup_window_seconds)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def serve_aws_stand_in(host: str, port: int, *, dedup_window_seconds: int = 300) -> None:
    """Serve in the foreground until SIGINT/SIGTERM."""
    import signal
    import threading

    server = start_aws_stand_in(host, port, dedup_window_seconds=dedup_window_seconds)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
