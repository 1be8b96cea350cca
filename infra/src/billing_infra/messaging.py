"""Queues, dead-letter queues and tables, created from the shared topology, with their alarms.

Nothing here spells a queue or table name: every name comes from ``lovia_billing.topology``, the
module the ingest, the consumers and the ``billing`` command line read too.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lovia_billing.ledger_index import LEDGER_INDEXES
from lovia_billing.topology import Integration, QueueSpec, Topology

#: Alarm when the oldest message of a source queue has waited this long (consumer stuck or down).
OLDEST_MESSAGE_ALARM_SECONDS: Final = 15 * 60
LEDGER_KEY: Final = "event_id"
IDEMPOTENCY_KEY: Final = "pk"
IDEMPOTENCY_TTL_ATTRIBUTE: Final = "expires_at"
#: What ``Table.grant_read_write_data`` grants, spelled out: on a table with indexes that grant
#: also covers ``<table>/index/*``, a wildcard; the ledger's indexes are granted by name instead.
TABLE_READ_WRITE: Final = (
    "dynamodb:BatchGetItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:Query",
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
)


class Messaging(Construct):
    """One FIFO queue and DLQ per integration, the ledger and idempotency tables, and alarms."""

    def __init__(
        self, scope: Construct, construct_id: str, *, topology: Topology, alarm_topic: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[Integration, sqs.Queue] = {}
        self.dlqs: dict[Integration, sqs.Queue] = {}
        self.alarms: list[cloudwatch.Alarm] = []
        action = cloudwatch_actions.SnsAction(alarm_topic)
        for spec in topology.queues():
            dlq, queue = self._queue_pair(spec)
            self.queues[spec.integration], self.dlqs[spec.integration] = queue, dlq
            for alarm in self._alarms(spec, queue, dlq):
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
                self.alarms.append(alarm)
        self.ledger = self._table("Ledger", topology.ledger_table, LEDGER_KEY, ttl=None)
        for index in LEDGER_INDEXES:  # the same indexes `provision` makes on the local stand-in
            self.ledger.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=index.sort, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.KEYS_ONLY,
            )
        self.idempotency = self._table(
            "Idempotency", topology.idempotency_table, IDEMPOTENCY_KEY, ttl=IDEMPOTENCY_TTL_ATTRIBUTE
        )

    def grant_tables(self, grantee: iam.IGrantable, *, search: bool = False) -> None:
        """Read and write both tables; with ``search``, also query the ledger's indexes (each by name)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(TABLE_READ_WRITE),
            resource_arns=[self.ledger.table_arn, self.idempotency.table_arn],
        )
        if search:
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["dynamodb:Query"],
                resource_arns=[f"{self.ledger.table_arn}/index/{index.name}" for index in LEDGER_INDEXES],
            )

    def _queue_pair(self, spec: QueueSpec) -> tuple[sqs.Queue, sqs.Queue]:
        common = {
            "fifo": True,
            "content_based_deduplication": True,
            "encryption": sqs.QueueEncryption.SQS_MANAGED,
            "enforce_ssl": True,
            "visibility_timeout": Duration.seconds(spec.visibility_timeout),
            "removal_policy": RemovalPolicy.RETAIN,  # messages are money records
        }
        dlq = sqs.Queue(
            self,
            f"{spec.integration}-dlq",
            queue_name=spec.dlq_name,
            retention_period=Duration.seconds(spec.dlq_retention_seconds),
            **common,  # type: ignore[arg-type]
        )
        queue = sqs.Queue(
            self,
            str(spec.integration),
            queue_name=spec.name,
            retention_period=Duration.seconds(spec.retention_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=dlq),
            **common,  # type: ignore[arg-type]
        )
        return dlq, queue

    def _alarms(self, spec: QueueSpec, queue: sqs.Queue, dlq: sqs.Queue) -> list[cloudwatch.Alarm]:
        dead = dlq.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        ).create_alarm(
            self,
            f"{spec.integration}-dlq-not-empty",
            alarm_name=f"{spec.dlq_name} has messages",
            alarm_description=f"A message reached {spec.dlq_name}: inspect with `billing dlq show`.",
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        old = queue.metric_approximate_age_of_oldest_message(
            period=Duration.minutes(1), statistic="Maximum"
        ).create_alarm(
            self,
            f"{spec.integration}-oldest-message",
            alarm_name=f"{spec.name} oldest message too old",
            alarm_description=(
                f"A message in {spec.name} has waited over {OLDEST_MESSAGE_ALARM_SECONDS // 60} min."
            ),
            threshold=OLDEST_MESSAGE_ALARM_SECONDS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return [dead, old]

    def _table(self, construct_id: str, name: str, key: str, *, ttl: str | None) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            table_name=name,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
