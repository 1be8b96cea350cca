"""The answer deadline: every request is answered within ``ANSWER_DEADLINE_SECONDS`` (10 s), well
inside the 30 s Xendit waits for a callback's answer, even when AWS does not answer at all.

Each AWS call is bounded by botocore (connect and read timeouts, ``standard`` retries: see
``IngestSettings``); the whole request is bounded here, from the moment it is routed. Past the
deadline the request is cancelled wherever it is and answered 503 ``deadline_exceeded`` with
``Retry-After``. Nothing it began is left claiming more than happened — its ``Progress`` says what
AWS had not confirmed, and a background clean-up undoes it once AWS answers again:

* an ``Idempotency-Key`` it had reserved is released (only its own reservation: by token), so
  the same request can be sent again at once;
* an event it had begun to record and send is marked ``not_queued`` in the ledger, for every
  integration it was routed to — conditionally, so never over a send that was confirmed (by this
  or a later copy of the request) nor over a consumer's mark.

The same clean-up follows a request answered 503 because an AWS call got no answer at all after
botocore's retries (a timeout, a lost connection), which AWS may still apply late. It keeps trying
until ``SEND_GRACE_SECONDS`` after the request arrived. If AWS is still
not answering by then, the key's lease (30 s) and the ledger's grace (an entry whose send was never
confirmed reads ``not_queued`` 60 s after it was written) have taken over.

A 503 is "not confirmed", not "certainly not queued": if AWS stopped answering *while* the
message was being sent, SQS may still take it when it recovers. Sending the same request again is
always safe: the same event id, dropped by SQS within 5 minutes and by each consumer's idempotency
store after that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError
from litestar.types import ASGIApp, Message, Receive, Send

from ingest.errors import unavailable
from ingest.request_log import note
from ingest.services import Services
from lovia_billing import DomainEvent
from lovia_billing.ledger import SEND_GRACE_SECONDS
from lovia_billing.topology import routes_for

#: Work the answer does not depend on (storing an Idempotency-Key's answer) stops this long before
#: the deadline, so that the answer it would not change still goes out in time.
ANSWER_MARGIN_SECONDS = 0.25
_PROGRESS = "progress"
_RETRY_CAP_SECONDS = 5.0


@dataclass
class Progress:
    """What a request has begun that AWS has not confirmed yet: the clean-up after a deadline (or an
    AWS call without answer) undoes it."""

    deadline: float  # the event loop's clock
    step: str = "starting"
    reservation: tuple[str, str] | None = None  # (Idempotency-Key, token) held by this request
    publishing: DomainEvent | None = None  # recorded in the ledger (maybe) and being sent

    @contextlib.contextmanager
    def publishing_event(self, event: DomainEvent) -> Iterator[None]:
        """While ``event`` is recorded and sent. An answer from AWS, even an error, leaves nothing
        to undo (the publisher records a refused send itself); no answer (a timeout, a lost
        connection, the deadline's cancellation) leaves it for the clean-up: the ledger write may
        still land."""
        self.publishing, self.step = event, "ledger and queues"
        try:
            yield
        except BotoCoreError:
            raise
        except Exception:
            self.publishing = None
            raise
        self.publishing = None

    def pending(self) -> bool:
        """Something AWS did not confirm is left to undo."""
        return self.reservation is not None or self.publishing is not None

    def before_deadline(self) -> float:
        """The deadline less the margin: when optional work must have stopped."""
        return self.deadline - ANSWER_MARGIN_SECONDS


def progress_of(scope: Any) -> Progress:
    """The request's ``Progress`` (a request outside the middleware gets a fresh one)."""
    state = scope.setdefault("state", {})
    progress = state.get(_PROGRESS)
    if progress is None:
        progress = state[_PROGRESS] = Progress(deadline=asyncio.get_running_loop().time() + 3600)
    return progress  # type: ignore[no-any-return]


def deadline_middleware(app: ASGIApp) -> ASGIApp:
    """Answer 503 ``deadline_exceeded`` when a request is not answered within the deadline."""

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        seconds = services.settings.answer_deadline_seconds
        loop = asyncio.get_running_loop()
        progress = Progress(deadline=loop.time() + seconds)
        scope.setdefault("state", {})[_PROGRESS] = progress
        answered = False

        async def tracking_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        timeout = asyncio.timeout_at(progress.deadline)
        arrived = progress.deadline - seconds
        try:
            async with timeout:
                await app(scope, receive, tracking_send)
        except TimeoutError:
            if not timeout.expired():
                raise  # a TimeoutError of the app's own, not ours
        else:
            if progress.pending():  # AWS left a write unanswered, and the request was answered 503
                services.spawn(clean_up(services, progress, arrived=arrived))
            return
        services.spawn(clean_up(services, progress, arrived=arrived))
        note(scope, waiting_for=progress.step, deadline_seconds=seconds)
        if answered:  # a response half sent cannot be replaced; the connection just ends
            return
        response = unavailable(
            f"AWS did not answer within the ingest's {seconds:g} s deadline (waiting for: "
            f"{progress.step}); nothing is confirmed queued: send the same request again",
            code="deadline_exceeded",
        )
        await response.to_asgi_response(app=None, request=None)(scope, receive, send)  # type: ignore[arg-type]

    return middleware


async def clean_up(services: Services, progress: Progress, *, arrived: float) -> None:
    """Undo what ``progress`` says was begun, retrying until the ledger's grace period is over."""
    work: list[Awaitable[None]] = []
    if progress.reservation is not None:
        work.append(_release(services, *progress.reservation))
    if progress.publishing is not None:
        work.append(_mark_not_queued(services, progress.publishing, progress.step))
    if not work:
        return
    event_id = progress.publishing.event_id if progress.publishing else None
    remaining = arrived + SEND_GRACE_SECONDS - asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(max(remaining, 0.0)):
            await asyncio.gather(*work)
    except TimeoutError:
        services.logger.warning(
            "clean-up after a deadline gave up: AWS still not answering (the key's lease and the "
            "ledger's grace period cover it)",
            extra={"event_id": event_id, "waiting_for": progress.step},
        )
        return
    services.logger.info(
        "cleaned up after a deadline",
        extra={"event_id": event_id, "key_released": progress.reservation is not None},
    )


async def _mark_not_queued(services: Services, event: DomainEvent, step: str) -> None:
    """Once the entry can be read (its write may land only when AWS recovers), mark every routed
    integration ``not_queued``; the ledger's conditions keep confirmed sends and consumers' marks."""
    reason = (
        f"no answer from AWS within the ingest's {services.settings.answer_deadline_seconds:g} s "
        f"deadline (waiting for: {step}); the request was answered 503: send it again"
    )

    async def mark() -> None:
        if await services.ledger.get(event.event_id) is None:
            raise _NotYetWritten
        await asyncio.gather(
            *(
                services.ledger.mark_not_queued(event.event_id, target, reason)
                for target in routes_for(event.event_type)
            )
        )

    await _until_done(mark)


async def _release(services: Services, key: str, token: str) -> None:
    """Release our reservation once it can be seen (its write may land only when AWS recovers);
    stop as soon as the key is held by another request or was completed."""

    async def release() -> None:
        if not await services.keys.release(key, token) and await services.keys.holder(key) is None:
            raise _NotYetWritten

    await _until_done(release)


class _NotYetWritten(Exception):
    """The ledger entry or key is not there (yet): its write may still wait in a recovering AWS."""


async def _until_done(attempt: Callable[[], Awaitable[None]]) -> None:
    delay = 0.5
    while True:
        try:
            await attempt()
            return
        except Exception:
            await asyncio.sleep(delay)
            delay = min(2 * delay, _RETRY_CAP_SECONDS)
