"""Dead messages back to their source queue: receive → send a copy (same group) → delete.

Why this path and not SQS's ``StartMessageMoveTask``: it works on the local stand-in (moto has no
move task), it can pick single events, it marks the ledger ``queued``, and it shows per-message
progress. The native task is in ``_native_redrive`` for a whole-queue redrive against AWS.

Safety, message by message:

* the DLQ copy is deleted only after the source queue accepted the new copy, so an interruption
  loses nothing: what was taken and not moved is given back (visibility 0) on the way out, or
  returns by itself after ``HOLD_SECONDS`` if the process was killed;
* the copy's ``MessageDeduplicationId`` is ``redrive-<DLQ message id>``: a second run that re-sends a
  message whose copy was accepted but whose DLQ original was not yet deleted is dropped by SQS
  within 5 minutes, and after that the idempotency store acknowledges the duplicate with no effect.
  (The body equals the original's, so content-based deduplication could otherwise drop the copy.)
* order within a message group: messages are moved in ``SequenceNumber`` order, one at a time;
  after a failure the rest of that group stays in the DLQ for the next run;
* once per run: an event that dies again while the run goes on (its consumer is still failing) comes
  back to the DLQ as a new message; the run leaves it there (skipped, "moved once in this run")
  instead of moving it round again, and ends.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from billing_cli._aws import Stage
from billing_cli._errors import aws_error_message
from billing_cli._messages import give_back, take
from lovia_billing import Integration, parse_event
from lovia_billing.consumer import Delivery
from lovia_billing.ledger import IntegrationStatus

#: Messages taken per round; a round is moved before the next is taken, so the hold never runs out.
ROUND_LIMIT = 100
#: Attributes the consumer runtime adds when it dead-letters a message: not carried back.
DEAD_LETTER_ATTRIBUTES = frozenset({"dead_reason", "source_message_id", "source_receive_count"})

Outcome = Literal["moved", "would move", "skipped", "failed"]
AGAIN = "moved once in this run already: it died again and is back in the DLQ (see `billing dlq show`)"


def event_id_of(delivery: Delivery) -> str | None:
    try:
        return parse_event(delivery.body).event_id
    except Exception:  # an unparseable body has no event id; it can still be redriven with --all
        return None


def _identity(delivery: Delivery) -> str:
    """What makes two DLQ messages the same dead event: its id, else its body."""
    return event_id_of(delivery) or "body:" + hashlib.sha256(delivery.body.encode()).hexdigest()


@dataclass
class RedriveReport:
    dry_run: bool
    moved: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


ProgressHook = Callable[[Delivery, Outcome], None]


class Redrive:
    """One redrive run of one integration's DLQ."""

    def __init__(
        self,
        stage: Stage,
        integration: Integration,
        *,
        event_ids: Collection[str] | None = None,
        dry_run: bool = False,
        on_message: ProgressHook | None = None,
    ) -> None:
        self.stage = stage
        self.integration = integration
        self.event_ids = set(event_ids) if event_ids else None
        self.dry_run = dry_run
        self.report = RedriveReport(dry_run=dry_run)
        self._on_message = on_message or (lambda _d, _o: None)
        self._outstanding: dict[str, Delivery] = {}  # taken from the DLQ and still there
        self._seen_event_ids: set[str] = set()
        self._moved: set[str] = set()  # what this run moved (event ids, or bodies' hashes)

    async def run(self) -> RedriveReport:
        dlq_url = await self.stage.dlq_url(self.integration)
        source_url = await self.stage.source_url(self.integration)
        try:
            while batch := await take(self.stage.sqs, dlq_url, limit=ROUND_LIMIT):
                for delivery in batch:
                    self._outstanding[delivery.message_id] = delivery
                for _, group in itertools.groupby(batch, key=lambda d: d.group_id):
                    await self._move_group(list(group), source_url, dlq_url)
        finally:
            # Whatever is still taken goes back now, also after a crash or Ctrl-C.
            try:
                await give_back(self.stage.sqs, dlq_url, list(self._outstanding.values()))
            except (BotoCoreError, ClientError) as exc:
                self.report.warnings.append(f"could not give messages back ({aws_error_message(exc)})")
        if self.event_ids is not None:
            self.report.not_found = sorted(self.event_ids - self._seen_event_ids)
        return self.report

    def _label(self, delivery: Delivery) -> str:
        return event_id_of(delivery) or f"message {delivery.message_id}"

    def _note(self, delivery: Delivery, outcome: Outcome, reason: str | None = None) -> None:
        label = self._label(delivery)
        if outcome in ("moved", "would move"):
            self.report.moved.append(label)
        else:
            target = self.report.failed if outcome == "failed" else self.report.skipped
            target.append({"event_id": label, "reason": reason or ""})
        self._on_message(delivery, outcome)

    def _selected(self, delivery: Delivery) -> bool:
        event_id = event_id_of(delivery)
        if event_id is not None:
            self._seen_event_ids.add(event_id)
        return self.event_ids is None or event_id in self.event_ids

    async def _move_group(self, group: list[Delivery], source_url: str, dlq_url: str) -> None:
        blocked: str | None = None
        for delivery in group:
            if not self._selected(delivery):
                self._note(delivery, "skipped", "not selected")
            elif _identity(delivery) in self._moved:
                self._note(delivery, "skipped", AGAIN)
                blocked = blocked or self._label(delivery)
            elif blocked is not None:
                self._note(delivery, "skipped", f"behind {blocked} of its group, which was not moved")
            elif self.dry_run:
                self._note(delivery, "would move")
            elif not await self._move(delivery, source_url, dlq_url):
                blocked = self._label(delivery)

    async def _move(self, delivery: Delivery, source_url: str, dlq_url: str) -> bool:
        """True once the copy is in the source queue (deleting the original may still have failed)."""
        try:
            await self._send_copy(delivery, source_url)
        except (BotoCoreError, ClientError) as exc:
            self._note(delivery, "failed", f"not sent: {aws_error_message(exc)}")
            return False
        self._moved.add(_identity(delivery))
        await self._mark_queued(delivery)
        try:
            await self._delete(delivery, dlq_url)
        except (BotoCoreError, ClientError) as exc:
            reason = (
                f"copied, but still in the DLQ ({aws_error_message(exc)}):"
                " run again, the second copy is deduplicated"
            )
            self._note(delivery, "failed", reason)
            return True
        del self._outstanding[delivery.message_id]
        self._note(delivery, "moved")
        return True

    async def _send_copy(self, delivery: Delivery, source_url: str) -> None:
        attributes: Any = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in delivery.attributes.items()
            if name not in DEAD_LETTER_ATTRIBUTES and value
        }
        attributes["redriven_at"] = {"DataType": "String", "StringValue": datetime.now(UTC).isoformat()}
        await self.stage.sqs.send_message(
            QueueUrl=source_url,
            MessageBody=delivery.body,
            MessageGroupId=delivery.group_id or "unknown",
            MessageDeduplicationId=f"redrive-{delivery.message_id}",
            MessageAttributes=attributes,
        )

    async def _delete(self, delivery: Delivery, dlq_url: str) -> None:
        await self.stage.sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=delivery.receipt_handle)

    async def _mark_queued(self, delivery: Delivery) -> None:
        """The ledger is a record: a failed write is a warning, never a reason to stop the move."""
        event_id = event_id_of(delivery)
        if event_id is None:
            return
        try:
            await self.stage.ledger.mark(event_id, self.integration, IntegrationStatus.QUEUED)
        except (BotoCoreError, ClientError) as exc:
            self.report.warnings.append(f"ledger not updated for {event_id}: {aws_error_message(exc)}")
