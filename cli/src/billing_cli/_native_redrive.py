"""A whole DLQ back to its source queue with SQS's own ``StartMessageMoveTask`` (AWS only).

Used by ``billing dlq redrive <integration> --all --native``. SQS moves the messages itself, at its
own pace, in the order it received them; it resets their retention and gives them new message ids.
It cannot pick single events and does not touch the ledger (each integration stays ``dead`` there
until the consumer picks the message up again). The destination is named explicitly: our consumer
runtime dead-letters messages itself, so SQS does not know their source. moto has no move task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from billing_cli._aws import Stage
from billing_cli._errors import OperatorError
from lovia_billing import Integration

POLL_SECONDS = 2.0
_FINISHED = frozenset({"COMPLETED", "CANCELLED", "FAILED"})

#: Called with (moved so far, to move in all) while the task runs.
ProgressHook = Callable[[int, int], None]


async def native_redrive(stage: Stage, integration: Integration, on_progress: ProgressHook) -> dict[str, Any]:
    """Start the move task, follow it to its end, return its final description."""
    dlq_url = await stage.dlq_url(integration)
    source_url = await stage.source_url(integration)
    dlq_arn = (await stage.queue_attributes(dlq_url, "QueueArn"))["QueueArn"]
    source_arn = (await stage.queue_attributes(source_url, "QueueArn"))["QueueArn"]
    sqs: Any = stage.sqs
    try:
        await sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=source_arn)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        if code.isdigit() or "<" in message:  # an HTTP error page, not an SQS answer: no move task here
            raise OperatorError(
                f"this endpoint does not implement StartMessageMoveTask (HTTP {code}; the local"
                " stand-in has none): run without --native"
            ) from exc
        raise OperatorError(f"StartMessageMoveTask refused: {code}: {message}") from exc
    while True:
        tasks = (await sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)).get("Results", [])
        task: dict[str, Any] = tasks[0] if tasks else {"Status": "COMPLETED"}
        on_progress(
            int(task.get("ApproximateNumberOfMessagesMoved", 0)),
            int(task.get("ApproximateNumberOfMessagesToMove", 0)),
        )
        if task.get("Status") in _FINISHED:
            if task.get("Status") != "COMPLETED":
                raise OperatorError(
                    f"move task {task.get('Status')}: {task.get('FailureReason', 'no reason given')}"
                )
            return task
        await asyncio.sleep(POLL_SECONDS)
