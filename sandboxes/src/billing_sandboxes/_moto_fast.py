"""Hot-path fixes to moto's SQS (5.2.x), applied inside the stand-in's process.

Plain moto slows down as a FIFO queue grows (40 sends/s falling to 13/s within 1,200 messages on
our 2 cores): about 90 % of a send is ``Queue.attributes`` being rebuilt, which counts visible,
delayed and in-flight messages through a ``datetime``-based clock, four times per send only to read
``ContentBasedDeduplication``; a receive builds the list of every visible message before taking ten,
and calls ``get_queue_attributes`` per message for the retention period; a delete scans the queue
twice and rebuilds it. Six changes remove that, with no change to what a client sees except one
(marked *fidelity*):

1. a fast clock (``time.time``) for moto's SQS module instead of ``datetime`` arithmetic;
2. ``ContentBasedDeduplication`` read from the queue's field, not from a rebuilt attribute map;
3. a deduplication index per queue (id → first send), pruned as ids age out. *Fidelity*: an id now
   outlives the deletion of its message, as on SQS (plain moto forgets it once the message is
   deleted, so a redelivered publish after a consumer's delete was queued twice);
4. receive scans lazily and stops at ``MaxNumberOfMessages``;
5. delete (and visibility change) stop at the first message holding the receipt handle;
6. the retention check reads the queue's field.

``check_moto()`` runs before anything is patched and raises ``MotoChanged`` naming every function
or field these fixes rely on that a moto upgrade removed or re-shaped, so an upgrade that breaks
them stops the stand-in at start-up instead of serving wrong answers. A test
(``sandboxes/tests/test_aws_stand_in.py``) also compares the replaced functions' source with the
moto release they were written against.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from collections import OrderedDict
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import moto.sqs.models
from moto.sqs.exceptions import InvalidParameterValue, MissingParameter, ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

#: moto's SQS module, untyped here: the fixes read and replace its dynamic names.
sqs_models: Any = moto.sqs.models

#: The release the replaced functions were copied from and checked against.
WRITTEN_FOR_MOTO = "5.2.5"

#: Every callable replaced or relied on, with its parameter names in the release above.
SIGNATURES: dict[str, tuple[object, str, tuple[str, ...]]] = {
    "moto.sqs.models.unix_time": (sqs_models, "unix_time", ("dt",)),
    "moto.sqs.models.unix_time_millis": (sqs_models, "unix_time_millis", ("dt",)),
    "moto.sqs.models._filter_message_attributes": (
        sqs_models,
        "_filter_message_attributes",
        ("message", "input_message_attributes"),
    ),
    "Queue.add_message": (Queue, "add_message", ("self", "message")),
    "Queue.delete_message": (Queue, "delete_message", ("self", "receipt_handle")),
    "SQSBackend._validate_message": (
        SQSBackend,
        "_validate_message",
        (
            "self",
            "queue",
            "message_body",
            "delay_seconds",
            "deduplication_id",
            "group_id",
            "validate_group_id",
        ),
    ),
    "SQSBackend.send_message": (
        SQSBackend,
        "send_message",
        (
            "self",
            "queue_name",
            "message_body",
            "message_attributes",
            "delay_seconds",
            "deduplication_id",
            "group_id",
            "system_attributes",
            "validate_group_id",
        ),
    ),
    "SQSBackend.receive_message": (
        SQSBackend,
        "receive_message",
        (
            "self",
            "queue_name",
            "count",
            "wait_seconds_timeout",
            "visibility_timeout",
            "message_attribute_names",
        ),
    ),
    "SQSBackend.change_message_visibility": (
        SQSBackend,
        "change_message_visibility",
        ("self", "queue_name", "receipt_handle", "visibility_timeout"),
    ),
    "SQSBackend.purge_queue": (SQSBackend, "purge_queue", ("self", "queue_name")),
    "SQSBackend.is_message_valid_based_on_retention_period": (
        SQSBackend,
        "is_message_valid_based_on_retention_period",
        ("self", "queue_name", "message"),
    ),
    "Message.mark_sent": (Message, "mark_sent", ("self", "delay_seconds")),
    "Message.mark_received": (Message, "mark_received", ("self", "visibility_timeout")),
}

#: Instance fields read or written directly (checked on a throwaway queue and message).
QUEUE_FIELDS = (
    "_messages",
    "_pending_messages",
    "_messages_lock",
    "deleted_messages",
    "fifo_queue",
    "content_based_deduplication",
    "message_retention_period",
    "delay_seconds",
    "maximum_message_size",
    "dead_letter_queue",
    "redrive_policy",
    "lambda_event_source_mappings",
)
MESSAGE_FIELDS = (
    "visible_at",
    "delayed_until",
    "receipt_handle",
    "_old_receipt_handles",
    "deduplication_id",
    "group_id",
    "sequence_number",
    "sent_timestamp",
    "approximate_receive_count",
    "message_attributes",
)
MODULE_NAMES = ("DEDUPLICATION_TIME_IN_SECONDS", "MAXIMUM_MESSAGE_DELAY", "random")

_APPLIED = "_billing_fast"
_DEDUP_INDEX = "_billing_dedup_index"


class MotoChanged(RuntimeError):
    """The installed moto no longer has what the stand-in's fixes replace or read."""


def check_moto() -> None:
    """Raise ``MotoChanged`` listing every replaced function or read field that changed shape."""
    problems: list[str] = []
    for label, (owner, name, parameters) in SIGNATURES.items():
        function = _original(owner, name)
        if function is None:
            problems.append(f"{label} is gone")
            continue
        found = tuple(inspect.signature(function).parameters)
        if found != parameters:
            problems.append(f"{label}{found} (expected {parameters})")
    problems += [f"moto.sqs.models.{name} is gone" for name in MODULE_NAMES if not hasattr(sqs_models, name)]
    queue_class: Any = Queue
    queue = queue_class("billing-check.fifo", "ap-southeast-1", "123456789012", FifoQueue="true")
    problems += [f"Queue().{name} is gone" for name in QUEUE_FIELDS if not hasattr(queue, name)]
    message = Message("id", "body")
    problems += [f"Message().{name} is gone" for name in MESSAGE_FIELDS if not hasattr(message, name)]
    if problems:
        raise MotoChanged(
            f"moto {_installed_version()} differs from {WRITTEN_FOR_MOTO}, which the stand-in's "
            "fixes (billing_sandboxes/_moto_fast.py) were written for: " + "; ".join(problems)
        )


def source_fingerprints() -> dict[str, str]:
    """sha256 of each replaced original's source (a test compares them with the known release)."""
    fingerprints = {}
    for label, (owner, name, _) in SIGNATURES.items():
        function = _original(owner, name)
        source = inspect.getsource(function) if function is not None else ""
        fingerprints[label] = hashlib.sha256(source.encode()).hexdigest()[:16]
    return fingerprints


def apply() -> None:
    """Check moto, then install the fixes (once per process)."""
    if getattr(SQSBackend, _APPLIED, False):
        return
    check_moto()
    originals = {label: _original(owner, name) for label, (owner, name, _) in SIGNATURES.items()}
    SQSBackend._billing_originals = originals  # type: ignore[attr-defined]
    # 1. Fast clock: moto's SQS module looks these names up at call time.
    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis
    # 2, 3. Deduplication from the queue's fields and its own index.
    Queue.add_message = _add_message  # type: ignore[method-assign]
    SQSBackend._validate_message = _validate_message  # type: ignore[method-assign]
    SQSBackend.send_message = _send_message  # type: ignore[method-assign]
    SQSBackend.purge_queue = _purge_queue(SQSBackend.purge_queue)  # type: ignore[method-assign,assignment]
    # 4, 6. Lazy receive; retention from the field.
    SQSBackend.receive_message = _receive_message  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
    # 5. One-pass delete and visibility change.
    Queue.delete_message = _delete_message  # type: ignore[method-assign]
    SQSBackend.change_message_visibility = _change_message_visibility  # type: ignore[method-assign]
    setattr(SQSBackend, _APPLIED, True)


def applied() -> bool:
    return bool(getattr(SQSBackend, _APPLIED, False))


# ---- helpers -------------------------------------------------------------------------------------


def _original(owner: object, name: str) -> Callable[..., Any] | None:
    if getattr(SQSBackend, _APPLIED, False):
        originals: dict[str, Any] = SQSBackend._billing_originals  # type: ignore[attr-defined]
        for label, (known_owner, known_name, _) in SIGNATURES.items():
            if known_owner is owner and known_name == name:
                return originals[label]  # type: ignore[no-any-return]
    function = inspect.getattr_static(owner, name, None)
    if isinstance(function, staticmethod | classmethod):
        function = function.__func__
    return function if callable(function) else None


def _installed_version() -> str:
    from importlib.metadata import version

    return version("moto")


def _unix_time(dt: Any = None) -> float:
    return time.time() if dt is None else _SLOW_UNIX_TIME(dt)


def _unix_time_millis(dt: Any = None) -> float:
    return time.time() * 1000.0 if dt is None else _SLOW_UNIX_TIME(dt) * 1000.0


_SLOW_UNIX_TIME: Callable[[Any], float] = sqs_models.unix_time


def _holds(message: Any, receipt_handle: str) -> bool:
    return message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles


def _dedup_index(queue: Any) -> OrderedDict[str, float]:
    index: OrderedDict[str, float] | None = queue.__dict__.get(_DEDUP_INDEX)
    if index is None:
        index = queue.__dict__.setdefault(_DEDUP_INDEX, OrderedDict())
    return index


# ---- 2, 3: send and deduplication ----------------------------------------------------------------


def _add_message(self: Any, message: Any) -> None:
    """moto's ``Queue.add_message`` with a deduplication index that outlives deleted messages."""
    if self.lambda_event_source_mappings:  # not used by this project: moto's own path, unchanged
        SQSBackend._billing_originals["Queue.add_message"](self, message)  # type: ignore[attr-defined]
        return
    with self._messages_lock:
        if self.fifo_queue and (self.content_based_deduplication or message.deduplication_id):
            window_ms = sqs_models.DEDUPLICATION_TIME_IN_SECONDS * 1000
            sent = float(message.sent_timestamp or 0)
            index = _dedup_index(self)
            while index:  # oldest first: drop the ids whose window is over
                oldest, first_sent = next(iter(index.items()))
                if sent - first_sent < window_ms:
                    break
                del index[oldest]
            key = str(message.deduplication_id)
            if key in index:
                return  # a duplicate within the window: accepted, not queued (as on SQS)
            index[key] = sent
        self._messages.append(message)
        self._messages_lock.notify_all()


def _validate_message(
    self: SQSBackend,  # noqa: ARG001 - a method of moto's backend
    queue: Any,
    message_body: str,
    delay_seconds: int,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    validate_group_id: bool = True,  # noqa: ARG001 - moto's signature
) -> None:
    if queue.fifo_queue:
        if not queue.content_based_deduplication and not group_id:
            raise MissingParameter("MessageGroupId")
        if not queue.content_based_deduplication and group_id and not deduplication_id:
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        if delay_seconds > 0:
            raise InvalidParameterValue(
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. Reason: "
                "The request include parameter that is not valid for this queue type."
            )
    if len(message_body) > queue.maximum_message_size:
        raise InvalidParameterValue(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{queue.maximum_message_size} bytes."
        )
    if group_id is None and queue.fifo_queue:
        raise MissingParameter("MessageGroupId")


def _send_message(
    self: SQSBackend,
    queue_name: str,
    message_body: str,
    message_attributes: dict[str, Any] | None = None,
    delay_seconds: int | None = None,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    system_attributes: dict[str, Any] | None = None,
    validate_group_id: bool = True,
) -> Any:
    """moto's ``send_message``, reading ``ContentBasedDeduplication`` from the queue's field."""
    queue = self.get_queue(queue_name)
    self._validate_message(
        queue,
        message_body=message_body,
        delay_seconds=int(delay_seconds or 0),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=validate_group_id,
    )
    delay = int(delay_seconds) if delay_seconds is not None else int(queue.delay_seconds)  # type: ignore[attr-defined]
    message = Message(str(sqs_models.random.uuid4()), message_body, system_attributes)
    if queue.content_based_deduplication:  # type: ignore[attr-defined]
        message.deduplication_id = hashlib.sha256(message_body.encode("utf-8")).hexdigest()
    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        # moto's random sequence number; the stand-in's sequence fix replaces it for FIFO queues.
        message.sequence_number = "".join(sqs_models.random.choice("0123456789") for _ in range(20))
    if group_id is not None:
        message.group_id = group_id
    if message_attributes:
        message.message_attributes = message_attributes
    if delay > sqs_models.MAXIMUM_MESSAGE_DELAY:
        raise InvalidParameterValue(
            f"Value {delay} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900."
        )
    message.mark_sent(delay_seconds=delay)
    queue.add_message(message)
    return message


def _purge_queue(original: Callable[[SQSBackend, str], None]) -> Callable[[SQSBackend, str], None]:
    def purge_queue(self: SQSBackend, queue_name: str) -> None:
        original(self, queue_name)
        # moto forgot every id with the purged messages; keep doing so (tests purge and resend).
        _dedup_index(self.get_queue(queue_name)).clear()

    return purge_queue


# ---- 4, 6: receive -------------------------------------------------------------------------------


def _retained(self: SQSBackend, queue_name: str, message: Any) -> bool:
    retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return retention + (message.sent_timestamp or 0) / 1000 > time.time()


def _receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Any]:
    """moto's receive, scanning only until ``count`` messages are found; waits as moto does."""
    names = message_attribute_names or []
    queue = self.get_queue(queue_name)
    deadline = time.time() + wait_seconds_timeout
    while True:
        result = _receive_now(self, queue, queue_name, count, visibility_timeout, names)
        remaining = deadline - time.time()
        if result or wait_seconds_timeout == 0 or remaining <= 0:
            return result
        with queue._messages_lock:
            queue._messages_lock.wait(timeout=min(remaining, 1.0))


def _receive_now(
    backend: SQSBackend,
    queue: Any,
    queue_name: str,
    count: int,
    visibility_timeout: int,
    names: list[str],
) -> list[Any]:
    result: list[Any] = []
    to_dead_letter: list[Any] = []
    expired: list[Any] = []
    redrive = queue.redrive_policy if queue.dead_letter_queue is not None else None
    with queue._messages_lock:
        now_ms = time.time() * 1000.0
        pending = queue._pending_messages
        for message in [m for m in pending if now_ms > m.visible_at]:
            pending.discard(message)  # its visibility ran out: the consumer timed out
        blocked = {m.group_id for m in pending if m.group_id is not None} if queue.fifo_queue else set()
        for message in queue._messages:
            if not now_ms > message.visible_at or now_ms < message.delayed_until:
                continue  # in flight, or delayed
            if queue.fifo_queue and message.group_id in blocked:
                continue  # an earlier message of its group is in flight: SQS keeps the order
            if redrive and message.approximate_receive_count >= redrive["maxReceiveCount"]:
                to_dead_letter.append(message)
                continue
            if not backend.is_message_valid_based_on_retention_period(queue_name, message):
                expired.append(message)
                continue
            pending.add(message)
            message.mark_received(visibility_timeout=visibility_timeout)
            copy = deepcopy(message)  # moto's: filtering must not change the stored message
            sqs_models._filter_message_attributes(copy, names)
            result.append(copy)
            if len(result) >= count:
                break
        for message in (*to_dead_letter, *expired):
            queue._messages.remove(message)
    for message in to_dead_letter:
        queue.dead_letter_queue.add_message(message)
    return result


# ---- 5: delete and visibility --------------------------------------------------------------------


def _delete_message(self: Any, receipt_handle: str) -> None:
    """moto's delete in one pass that stops at the message holding the handle."""
    with self._messages_lock:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: SQS accepts a repeat
        for position, message in enumerate(self._messages):
            if _holds(message, receipt_handle):
                del self._messages[position]
                self._pending_messages.discard(message)
                self.deleted_messages.update(
                    h for h in (message.receipt_handle, *message._old_receipt_handles) if h
                )
                return
    raise ReceiptHandleIsInvalid()


def _change_message_visibility(
    self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        message: Any = next((m for m in queue._messages if _holds(m, receipt_handle)), None)
        if message is None:
            raise ReceiptHandleIsInvalid
        until = time.time() * 1000 + int(visibility_timeout) * 1000
        if until - (message.sent_timestamp or 0) > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue._pending_messages:
            queue._pending_messages.discard(message)
