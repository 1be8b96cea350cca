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


def client_config(max_pool_connections: int = 64) -> AioConfig:
    # Standard retry mode retries throttling and 5xx from AWS itself; our own retries sit above.
    return AioConfig(
        retries={"max_attempts": 4, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        connect_timeout=5,
        read_timeout=30,  # above the 20 s long poll
    )


@dataclass
class AwsClients:
    sqs: SQSClient
    dynamodb: DynamoDBClient


@asynccontextmanager
async def open_aws_clients(region: str, *, max_pool_connections: int = 64) -> AsyncIterator[AwsClients]:
    """Open the SQS and DynamoDB clients for the process's lifetime."""
    session = get_session()
    config = client_config(max_pool_connections)
    async with AsyncExitStack() as stack:
        sqs: Any = await stack.enter_async_context(
            session.create_client("sqs", region_name=region, config=config)
        )
        dynamodb: Any = await stack.enter_async_context(
            session.create_client("dynamodb", region_name=region, config=config)
        )
        yield AwsClients(sqs=sqs, dynamodb=dynamodb)
