"""AWS clients: one long-lived aiobotocore client per service per process.

Endpoints come from botocore's own configuration, so the standard ``AWS_ENDPOINT_URL`` (and the
per-service ``AWS_ENDPOINT_URL_SQS`` ...) is what points them at the local stand-in, and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_sqs import SQSClient


def client_config(
    max_pool_connections: int = 64,
    *,
    connect_timeout: float = 5,
    read_timeout: float = 30,  # above the 20 s long poll
    max_attempts: int = 4,
) -> AioConfig:
    """botocore's own timeouts and retries (``standard`` mode: throttling, 5xx, timeouts and
    connection errors, with jittered backoff and a retry quota that stops retrying in an outage).

    The defaults suit a consumer's long polls; the ingest passes shorter ones (``IngestSettings``).
    """
    return AioConfig(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


@dataclass
class AwsClients:
    sqs: SQSClient
    dynamodb: DynamoDBClient


@asynccontextmanager
async def open_aws_clients(
    region: str, *, max_pool_connections: int = 64, config: AioConfig | None = None
) -> AsyncIterator[AwsClients]:
    """Open the SQS and DynamoDB clients for the process's lifetime (``config``: ``client_config()``)."""
    session = get_session()
    config = config or client_config(max_pool_connections)
    async with AsyncExitStack() as stack:
        sqs: Any = await stack.enter_async_context(
            session.create_client("sqs", region_name=region, config=config)
        )
        dynamodb: Any = await stack.enter_async_context(
            session.create_client("dynamodb", region_name=region, config=config)
        )
        yield AwsClients(sqs=sqs, dynamodb=dynamodb)
