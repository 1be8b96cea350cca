"""The local AWS stand-in: moto in server mode (SQS FIFO, DynamoDB, Secrets Manager) over real HTTP.

moto with two kinds of fixes: its SQS hot paths (``_moto_fast``: 15-80x the rate of plain moto, flat
as queues grow, deduplication ids that outlive their message) and FIFO behaviours our tests depend on
(below), served by waitress with keep-alive connections (``_server``) and a request log
(``GET /_sandbox/requests``) and injected failures of one operation (``/_sandbox/faults``). Why
moto and not LocalStack, fauxqs or DynamoDB Local: ``bench/README.md``.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import moto.sqs.models
from moto.core.utils import unix_time
from moto.sqs.models import Queue, SQSBackend

from billing_sandboxes import _moto_fast
from billing_sandboxes._server import StandInServer

#: How often a waiting long poll looks again even without a wake-up (a visibility timeout ending).
_LONG_POLL_RECHECK_SECONDS = 0.25
_patched = threading.Lock()


def set_dedup_window(seconds: int) -> None:
    """Shorten SQS FIFO's 5-minute deduplication window (a module constant in moto).

    Only a stand-in started by this project does this, so tests can show what happens after the
    window without waiting five minutes.
    """
    moto.sqs.models.DEDUPLICATION_TIME_IN_SECONDS = seconds


def _forget_timed_out(queue: Queue) -> None:
    """Messages whose visibility ran out are no longer in flight: their group is free again.

    moto notices this one message at a time while it scans, so when a whole batch of a group timed
    out (its worker died) the group looked locked until the scan reached the batch's *last*
    message, which it then delivered first: a3 before a1 and a2. SQS hands out a1 first.
    """
    for message in list(queue.pending_messages):
        if message.visible:
            queue.pending_messages.discard(message)


def fix_fifo_long_poll() -> None:
    """Make moto's FIFO receive behave as SQS does when a message group is unlocked.

    Timed-out batches are forgotten before each scan (``_forget_timed_out``). And:

    moto (5.x) snapshots the groups that have a message in flight when a long poll starts and never
    looks again, so a poll that starts while message 1 of a group is being processed does not see
    message 2 after message 1 is deleted: it waits the whole ``WaitTimeSeconds`` (20 s). SQS hands
    message 2 out as soon as message 1 is deleted. We poll moto without waiting (each call takes a
    fresh snapshot) and wait between calls on the queue's own condition, which a new message, and
    now a delete, notify. ``tests`` in ``sandboxes/tests/test_aws_stand_in.py`` show both.
    """
    with _patched:
        if getattr(SQSBackend.receive_message, "_billing_fixed", False):
            return
        original_receive = SQSBackend.receive_message
        original_delete = Queue.delete_message

        def receive_message(
            self: SQSBackend,
            queue_name: str,
            count: int,
            wait_seconds_timeout: int,
            visibility_timeout: int,
            message_attribute_names: list[str] | None = None,
        ) -> Any:
            deadline = unix_time() + wait_seconds_timeout
            queue = self.get_queue(queue_name)
            while True:
                _forget_timed_out(queue)
                result = original_receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
                remaining = deadline - unix_time()
                if result or remaining <= 0:
                    return result
                with queue._messages_lock:
                    queue._messages_lock.wait(timeout=min(remaining, _LONG_POLL_RECHECK_SECONDS))

        def delete_message(self: Queue, receipt_handle: str) -> None:
            original_delete(self, receipt_handle)
            with self._messages_lock:
                self._messages_lock.notify_all()

        receive_message._billing_fixed = True  # type: ignore[attr-defined]
        SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
        Queue.delete_message = delete_message  # type: ignore[method-assign]


def fix_fifo_sequence_numbers() -> None:
    """Give every FIFO message an increasing ``SequenceNumber``, as SQS does.

    moto sets none under content-based deduplication and a random one when the sender passes a
    ``MessageDeduplicationId`` (as a redrive does), so order checks by sequence number would lie.
    """
    with _patched:
        if getattr(SQSBackend.send_message, "_billing_fixed", False):
            return
        original_send = SQSBackend.send_message
        counter = itertools.count(10**19)  # 20 digits, like SQS's
        counter_lock = threading.Lock()

        def send_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            message = original_send(self, queue_name, *args, **kwargs)
            if self.get_queue(queue_name).fifo_queue:
                with counter_lock:
                    message.sequence_number = str(next(counter))
            return message

        send_message._billing_fixed = True  # type: ignore[attr-defined]
        SQSBackend.send_message = send_message  # type: ignore[method-assign]


def install_fixes(*, fast: bool = True) -> None:
    """Patch moto in this process: the hot-path fixes first (``fast``), then the FIFO fixes over them.

    ``fast=False`` leaves moto's own hot paths (for a side-by-side benchmark); a process keeps
    whichever it installed first.
    """
    if fast and not _fixed():
        _moto_fast.apply()  # raises MotoChanged if the installed moto no longer fits
    fix_fifo_long_poll()
    fix_fifo_sequence_numbers()


def _fixed() -> bool:
    return bool(getattr(SQSBackend.receive_message, "_billing_fixed", False))


def start_aws_stand_in(
    host: str, port: int, *, dedup_window_seconds: int = 300, fast: bool = True
) -> StandInServer:
    """Serve moto (``_server``) from a background thread of this process; ``.stop()`` ends it."""
    set_dedup_window(dedup_window_seconds)
    install_fixes(fast=fast)
    server = StandInServer(host, port)
    server.start()
    return server


def serve_aws_stand_in(host: str, port: int, *, dedup_window_seconds: int = 300, fast: bool = True) -> None:
    """Serve in the foreground until SIGINT/SIGTERM."""
    import signal
    import threading

    server = start_aws_stand_in(host, port, dedup_window_seconds=dedup_window_seconds, fast=fast)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
