"""``Idempotency-Key`` for the ``/v1`` API: the same key and body answer the same; another body is 422.

Stored in the idempotency table (``pk = ingest-key#<key>``) for 24 hours, shared by every replica.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

KEY_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: dict[str, Any]


class IdempotencyKeys:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    @staticmethod
    def _pk(key: str) -> dict[str, Any]:
        return {"pk": {"S": f"ingest-key#{key}"}}

    async def get(self, key: str) -> StoredResponse | None:
        item = (await self._db.get_item(TableName=self._table, Key=self._pk(key), ConsistentRead=True)).get(
            "Item"
        )
        if item is None or int(item["expires_at"]["N"]) < time.time():
            return None
        return StoredResponse(
            fingerprint=str(item["fingerprint"]["S"]),
            status_code=int(item["status_code"]["N"]),
            body=json.loads(item["response"]["S"]),
        )

    async def put(self, key: str, response: StoredResponse) -> StoredResponse:
        """Store ``response`` unless the key is taken; return what is stored for the key."""
        try:
            await self._db.put_item(
                TableName=self._table,
                Item={
                    **self._pk(key),
                    "fingerprint": {"S": response.fingerprint},
                    "status_code": {"N": str(response.status_code)},
                    "response": {"S": json.dumps(response.body, sort_keys=True)},
                    "expires_at": {"N": str(int(time.time()) + KEY_TTL_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            stored = await self.get(key)
            return stored or response
        return response
