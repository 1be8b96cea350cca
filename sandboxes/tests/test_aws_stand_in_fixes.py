"""The stand-in's fixes to moto are in place, and a moto upgrade that changes what they replace fails."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from billing_sandboxes import _moto_fast

#: sha256 (16 hex) of each function the fixes replace, in moto 5.2.5. A moto upgrade that changes one
#: fails here: compare the new source with ``_moto_fast``'s copy, carry the change over, then update.
KNOWN_SOURCES = {
    "moto.sqs.models.unix_time": "f0576ec9e5f586e5",
    "moto.sqs.models.unix_time_millis": "7a37e1337d02962e",
    "moto.sqs.models._filter_message_attributes": "2e61eb0503c8ea0a",
    "Queue.add_message": "f27c9231c1f20433",
    "Queue.delete_message": "fa6fd5b9bd2cafb4",
    "SQSBackend._validate_message": "39cb57c19e596164",
    "SQSBackend.send_message": "bf161af09a9e6b86",
    "SQSBackend.receive_message": "065f3e5e7d214408",
    "SQSBackend.change_message_visibility": "f0e9df5f66627114",
    "SQSBackend.purge_queue": "443ea1ae7b15230c",
    "SQSBackend.is_message_valid_based_on_retention_period": "cca23b94a5f3af9d",
    "Message.mark_sent": "0c04f21957a0d5fb",
    "Message.mark_received": "98e7ec115c7fcb9f",
}


def test_the_stand_in_runs_with_the_fixes_applied(aws_endpoint: str) -> None:
    assert _moto_fast.applied()
    _moto_fast.check_moto()  # the originals still have the shape the fixes were written for


def test_moto_replaced_functions_are_the_ones_the_fixes_were_written_against() -> None:
    changed = {
        name: fingerprint
        for name, fingerprint in _moto_fast.source_fingerprints().items()
        if KNOWN_SOURCES.get(name) != fingerprint
    }
    assert not changed, (
        f"moto changed {sorted(changed)} since {_moto_fast.WRITTEN_FOR_MOTO}: review _moto_fast"
    )


def test_a_changed_signature_stops_the_stand_in_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    owner, name, parameters = _moto_fast.SIGNATURES["SQSBackend.send_message"]
    changed = {**_moto_fast.SIGNATURES, "SQSBackend.send_message": (owner, name, (*parameters, "new_flag"))}
    monkeypatch.setattr(_moto_fast, "SIGNATURES", changed)
    monkeypatch.setattr(_moto_fast, "QUEUE_FIELDS", (*_moto_fast.QUEUE_FIELDS, "field_moto_dropped"))
    with pytest.raises(_moto_fast.MotoChanged) as failure:
        _moto_fast.check_moto()
    assert "SQSBackend.send_message" in str(failure.value)
    assert "Queue().field_moto_dropped is gone" in str(failure.value)


def test_the_request_log_counts_operations_messages_and_request_units(aws_endpoint: str) -> None:
    httpx.delete(aws_endpoint + "/_sandbox/requests").raise_for_status()
    sqs = boto3.client("sqs", region_name="ap-southeast-1")
    url = sqs.create_queue(
        QueueName="standin-log.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(n), "MessageBody": f"m{n}", "MessageGroupId": "g"} for n in range(3)],
    )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)  # the group is in flight: empty
    db = boto3.client("dynamodb", region_name="ap-southeast-1")
    db.create_table(
        TableName="standin-log",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    db.put_item(TableName="standin-log", Item={"pk": {"S": "big"}, "body": {"S": "x" * 1500}})  # 2 KB
    db.get_item(TableName="standin-log", Key={"pk": {"S": "big"}}, ConsistentRead=True)

    assert len(got) == 3
    tagged = boto3.client("sqs", region_name="ap-southeast-1", config=Config(user_agent_appid="tester"))
    tagged.send_message(QueueUrl=url, MessageBody="tagged", MessageGroupId="t")
    log = httpx.get(aws_endpoint + "/_sandbox/requests").json()
    assert log["requests"]["SQS.SendMessageBatch"] == 1
    assert log["apps"]["tester"]["requests"] == {"SQS.SendMessage": 1}  # AWS_SDK_UA_APP_ID, per process
    assert log["requests"]["SQS.ReceiveMessage"] == 2
    assert log["sqs"] == {
        "SendMessageBatch.entries": 3,
        "ReceiveMessage.messages": 3,
        "ReceiveMessage.empty": 1,
    }
    assert log["requests"]["DynamoDB.PutItem"] == 1
    assert log["units"] == {"write.standin-log": 2, "read.standin-log": 1}
    assert log["apps"]["-"]["units"] == log["units"]  # this test process sets no AWS_SDK_UA_APP_ID


def test_index_writes_are_counted_only_when_the_index_copy_changes(aws_endpoint: str) -> None:
    db = boto3.client("dynamodb", region_name="ap-southeast-1")
    db.create_table(
        TableName="standin-indexed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "ix", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-ix",
                "KeySchema": [{"AttributeName": "ix", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    def units_of(call: Any) -> dict[str, float]:
        httpx.delete(aws_endpoint + "/_sandbox/requests").raise_for_status()
        call()
        return dict(httpx.get(aws_endpoint + "/_sandbox/requests").json()["units"])

    def update(expression: str, value: str) -> Any:
        return lambda: db.update_item(
            TableName="standin-indexed",
            Key={"pk": {"S": "a"}},
            UpdateExpression=expression,
            ExpressionAttributeValues={":v": {"S": value}},
        )

    put = units_of(
        lambda: db.put_item(TableName="standin-indexed", Item={"pk": {"S": "a"}, "ix": {"S": "k1"}})
    )
    assert put == {"write.standin-indexed": 1, "write.standin-indexed.indexes": 1}
    assert units_of(update("SET st = :v", "done")) == {"write.standin-indexed": 1}  # keys only: untouched
    moved = units_of(update("SET ix = :v", "k2"))  # the index key changed: out of one place, into another
    assert moved == {"write.standin-indexed": 1, "write.standin-indexed.indexes": 2}
