"""The ingest's app factory: Litestar, composed once per process from settings (and, in tests, clients)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import ASGIApp, Message, Receive, Send
from pydantic import ValidationError

from ingest._request import JsonRequest
from ingest.console.routes import console_routes
from ingest.deadline import deadline_middleware
from ingest.errors import error_response, on_aws_error, on_http_exception, on_publish_error, on_unexpected
from ingest.graphql.http import graphql_routes
from ingest.openapi import openapi_config
from ingest.request_log import refusal_log_middleware
from ingest.routes._accept import validation_failed
from ingest.routes.api import V1Controller
from ingest.routes.health import liveness, readiness
from ingest.routes.webhooks import xendit_webhooks
from ingest.services import Services
from lovia_billing import IngestSettings, PublishError
from lovia_billing.aws import AwsClients, client_config, open_aws_clients
from lovia_billing.logs import get_logger
from lovia_billing.tracing import tracing_enabled

JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: At shutdown, how long clean-ups after a deadline may go on (uvicorn's graceful shutdown is 20 s).
DRAIN_SECONDS = 5.0


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (``x-request-id`` in, or a new one), echoed in the response."""

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:128]
        rid = given or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


def content_type_middleware(app: ASGIApp) -> ASGIApp:
    """A write must say it is JSON; anything else is 415 before a byte of it is read."""

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in JSON_METHODS:
            content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            if content_type.split(";")[0].strip().lower() != "application/json":
                response = error_response(415, "Content-Type must be application/json")
                await response.to_asgi_response(app=None, request=None)(scope, receive, send)  # type: ignore[arg-type]
                return
        await app(scope, receive, send)

    return middleware


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def create_app(settings: IngestSettings, aws: AwsClients | None = None) -> Litestar:
    """Build the ingest. ``aws`` lets a test or benchmark pass clients it already holds open."""
    logger = get_logger("ingest", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        clients: AbstractAsyncContextManager[AwsClients] = (
            _already_open(aws)
            if aws is not None
            else open_aws_clients(settings.aws_region, config=aws_config(settings))
        )
        async with clients as opened:
            services = Services.build(settings, opened, logger)
            app.state.services = services
            try:
                await services.publisher.resolve_queues()
            except Exception as exc:
                logger.warning(
                    "queues not reachable at start-up", extra={"error": f"{type(exc).__name__}: {exc}"}
                )
            logger.info("ingest started", extra={"stage": settings.billing_stage, "port": settings.port})
            yield
            await services.drain(DRAIN_SECONDS)

    return Litestar(
        route_handlers=[
            liveness,
            readiness,
            V1Controller,
            xendit_webhooks,
            *graphql_routes(settings),
            *console_routes(settings.console_enabled),
        ],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        lifespan=[lifespan],
        request_class=JsonRequest,
        request_max_body_size=settings.max_body_bytes,
        # Outermost first: every answer carries the request id, every refusal is logged once, and
        # the deadline bounds everything else (the content-type check included).
        middleware=[
            request_id_middleware,
            refusal_log_middleware,
            deadline_middleware,
            content_type_middleware,
        ],
        # A span per request (the publisher adds the correlation id), only when tracing is on.
        plugins=[OpenTelemetryPlugin(OpenTelemetryConfig())] if tracing_enabled() else [],
        exception_handlers={
            HTTPException: on_http_exception,
            ValidationError: lambda _request, exc: validation_failed(exc),
            # A callback whose event did not reach its queue: Xendit retries a 5xx.
            PublishError: on_publish_error,
            ClientError: on_aws_error,
            BotoCoreError: on_aws_error,
            Exception: on_unexpected,
        },
        # Only the Powertools logger writes (JSON): Litestar's own config would add a plain-text
        # handler on the root logger and every line would be written twice.
        logging_config=None,
        openapi_config=openapi_config(settings),
        debug=False,
    )


def aws_config(settings: IngestSettings) -> AioConfig:
    """Short AWS timeouts and few retries: every call must fit in the answer deadline."""
    return client_config(
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        max_attempts=settings.aws_max_attempts,
    )


@asynccontextmanager
async def _already_open(aws: AwsClients) -> AsyncIterator[AwsClients]:
    yield aws
