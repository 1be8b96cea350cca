"""Where each customer's billing facts live: one DynamoDB item per customer, in the idempotency table.

The item is ``pk = "mautic-facts#<customer_id>"`` with ``facts``, a string set of canonical fact
strings (``lovia_billing.billing_facts.encode``). Adding a fact is one ``UpdateItem ADD facts :fact`` with
``ReturnValues=ALL_NEW``: atomic, commutative and idempotent (a set holds a string once), and the
same call returns every fact of the customer, so no read-modify-write can lose a concurrent add.

Why the idempotency table: it exists in every stage with the string key ``pk`` (``provision.py``,
``billing_infra.messaging``) and every consumer's task role may already read and write it, so no
new table, provisioning or grant is needed; the ``mautic-facts#`` prefix cannot collide with the
idempotency records (``<integration>#<event_id>``). The items have no ``expires_at``, so the table's
TTL never deletes them: they are the customer's billing history. A fact takes 100-250 bytes, so
DynamoDB's 400 KB item limit holds well over a thousand (decades of monthly invoices); an item that
is full fails every add with a permanent error naming the customer.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from lovia_billing import PermanentError
from lovia_billing.aws import client_config
from lovia_billing.billing_facts import fact_key

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


class FactStore(Protocol):
    """A set of fact strings per customer."""

    async def add(self, customer_id: str, fact: str) -> frozenset[str]:
        """Add ``fact`` (again is fine); return every fact of the customer, ``fact`` included."""
        ...

    async def facts(self, customer_id: str) -> frozenset[str]:
        """Every fact of the customer; empty when there is none."""
        ...


class DynamoFactStore:
    """``FactStore`` on a DynamoDB table keyed by ``pk``.

    Use as ``async with``: without a ``dynamodb`` client it opens its own for the process's
    lifetime (endpoint from botocore's configuration, as ``lovia_billing.aws`` does).
    """

    def __init__(self, table: str, *, region: str, dynamodb: DynamoDBClient | None = None) -> None:
        self._table = table
        self._region = region
        self._db = dynamodb
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> Self:
        if self._db is None:
            self._stack = AsyncExitStack()
            client: Any = await self._stack.enter_async_context(
                get_session().create_client("dynamodb", region_name=self._region, config=client_config())
            )
            self._db = client
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack, self._db = None, None

    def _client(self) -> DynamoDBClient:
        if self._db is None:
            raise RuntimeError("DynamoFactStore used outside `async with`")
        return self._db

    async def add(self, customer_id: str, fact: str) -> frozenset[str]:
        try:
            response = await self._client().update_item(
                TableName=self._table,
                Key={"pk": {"S": fact_key(customer_id)}},
                UpdateExpression="ADD facts :fact SET customer_id = :customer",
                ExpressionAttributeValues={":fact": {"SS": [fact]}, ":customer": {"S": customer_id}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ValidationException":
                # Retrying cannot shrink the item (or fix the request): say so instead.
                raise PermanentError(
                    f"cannot add a billing fact of customer {customer_id}: "
                    f"{exc.response['Error'].get('Message', 'ValidationException')}"
                ) from exc
            raise
        return frozenset(response.get("Attributes", {}).get("facts", {}).get("SS", []))

    async def facts(self, customer_id: str) -> frozenset[str]:
        response = await self._client().get_item(
            TableName=self._table,
            Key={"pk": {"S": fact_key(customer_id)}},
            ConsistentRead=True,
            ProjectionExpression="facts",
        )
        return frozenset(response.get("Item", {}).get("facts", {}).get("SS", []))
